import shutil

import numpy as np
import pytest

from skycall.vocoder.speech import default_speech


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    """Cache directory of the session's default test utterance."""
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def speech_8k(speech_dir) -> np.ndarray:
    """The 20 s default espeak-ng test utterance (8 kHz float32), synthesised once per session."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return default_speech(20.0, speech_dir)
