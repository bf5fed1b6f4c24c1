"""Bounded JSON messages: what every control, directory and telemetry socket accepts.

A message is one ZeroMQ frame holding one UTF-8 JSON object. :func:`limit_socket` makes libzmq
refuse larger frames before they are ever buffered (``ZMQ_MAXMSGSIZE``: the sender is
disconnected) and bounds the receive queue; :func:`decode_object` turns a frame into a ``dict``
or raises :class:`BadMessage` — for any content: not UTF-8, not JSON, not an object, deeper than
``max_depth`` (checked on the parsed value; a nesting too deep for the parser, e.g. 200 000
``[``, is a ``RecursionError`` inside ``json``, caught here), or larger than ``max_bytes``.
Callers count a ``BadMessage`` and carry on: no message can end a process or a thread.
"""

import json

import zmq

from skycall.errors import SkycallError

#: control and directory requests and replies, announcements
MAX_CONTROL_BYTES = 64 * 1024
#: one telemetry event
MAX_EVENT_BYTES = 64 * 1024
#: nesting of a control or telemetry object (``{"endpoints": {"tx": "..."}}`` is 2)
MAX_DEPTH = 8


class BadMessage(SkycallError):
    """A received frame is not an acceptable JSON object (the message says why)."""


def limit_socket(sock: zmq.Socket, max_bytes: int, rcvhwm: int = 1000) -> None:
    """Refuse inbound frames above ``max_bytes`` (libzmq drops the peer) and queue at most ``rcvhwm``."""
    sock.setsockopt(zmq.MAXMSGSIZE, int(max_bytes))
    sock.rcvhwm = rcvhwm


def _depth(value, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping the walk once it exceeds ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, dict | list):
            d += 1
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((child, d) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def decode_object(raw: bytes, max_bytes: int = MAX_CONTROL_BYTES, max_depth: int = MAX_DEPTH) -> dict:
    """The JSON object in ``raw``; :class:`BadMessage` for anything else (see module docstring)."""
    if len(raw) > max_bytes:
        raise BadMessage(f"message of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    try:
        value = json.loads(bytes(raw))
    except RecursionError:
        raise BadMessage("JSON nested too deeply to parse") from None
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise BadMessage(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise BadMessage(f"expected a JSON object, got {type(value).__name__}")
    if _depth(value, max_depth) > max_depth:
        raise BadMessage(f"JSON object nested deeper than {max_depth} levels")
    return value


__all__ = ["BadMessage", "decode_object", "limit_socket", "MAX_CONTROL_BYTES", "MAX_EVENT_BYTES", "MAX_DEPTH"]
