"""Make ``src/serkit/infer/data/example.flac``: the short speech clip that ``serkit predict --example`` runs on.

The clip is synthetic speech made by the project with eSpeak NG (never corpus audio): two sentences, the
first spoken slowly at a low pitch, the second faster, higher and louder, so that the example has some
prosodic contrast for the timeline to show. eSpeak NG comes from the registry package ``espeakng-loader``
(it ships ``libespeak-ng`` and its voice data; no system binary is needed), driven here through ctypes.
It is needed only to remake the clip, never by serkit itself::

    pip install espeakng-loader==0.2.4
    python scripts/make_example_clip.py            # writes src/serkit/infer/data/example.flac

The output is 16 kHz mono 16-bit FLAC, peak-normalised to -3 dBFS. eSpeak NG's synthesis is
deterministic, so the same versions give the same samples.
"""

from __future__ import annotations

import argparse
import ctypes
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

OUT = Path(__file__).resolve().parents[1] / "src" / "serkit" / "infer" / "data" / "example.flac"
SAMPLE_RATE = 16_000

# (text, words per minute, pitch 0-99, pitch range 0-99, volume 0-200)
PHRASES = (
    ("Hello. This is a short example, read by a speech synthesiser.", 140, 35, 30, 90),
    ("And now it speaks much faster, and much louder, and it sounds really excited!", 200, 75, 95, 170),
)
PAUSE_S = 0.6

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and espeak_POSITION_TYPE values from speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE, ESPEAK_VOLUME, ESPEAK_PITCH, ESPEAK_RANGE = 1, 2, 3, 4
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _espeak() -> tuple[ctypes.CDLL, int]:
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [CALLBACK]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    # espeak_Initialize takes the folder that *contains* espeak-ng-data.
    home = str(Path(espeakng_loader.get_data_path()).parent).encode()
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, home, 0)
    if rate <= 0:
        raise SystemExit(f"espeak_Initialize failed ({rate})")
    if lib.espeak_SetVoiceByName(b"en") != 0:
        raise SystemExit("eSpeak NG has no 'en' voice")
    return lib, rate


def synthesise(
    lib: ctypes.CDLL, text: str, *, wpm: int, pitch: int, pitch_range: int, volume: int
) -> np.ndarray:
    """One phrase as int16 samples at eSpeak's own rate."""
    chunks: list[np.ndarray] = []

    def collect(wav, n, _events):  # called synchronously from espeak_Synth
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = CALLBACK(collect)  # kept referenced until synthesis ends
    lib.espeak_SetSynthCallback(callback)
    for param, value in (
        (ESPEAK_RATE, wpm),
        (ESPEAK_PITCH, pitch),
        (ESPEAK_RANGE, pitch_range),
        (ESPEAK_VOLUME, volume),
    ):
        lib.espeak_SetParameter(param, value, 0)
    data = text.encode("utf-8") + b"\0"
    err = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
    if err != 0:
        raise SystemExit(f"espeak_Synth failed ({err})")
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=OUT)
    args = parser.parse_args()
    lib, rate = _espeak()
    pause = np.zeros(round(PAUSE_S * rate), np.float32)
    parts = [pause[: len(pause) // 2]]
    for text, wpm, pitch, pitch_range, volume in PHRASES:
        y = synthesise(lib, text, wpm=wpm, pitch=pitch, pitch_range=pitch_range, volume=volume)
        parts += [y.astype(np.float32) / 32768.0, pause]
    y = np.concatenate(parts)
    y = soxr.resample(y, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    y *= 10 ** (-3 / 20) / max(float(np.abs(y).max()), 1e-9)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(args.out), y, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    print(
        f"{args.out}: {len(y) / SAMPLE_RATE:.2f} s, {args.out.stat().st_size / 1024:.0f} KiB (eSpeak rate {rate} Hz)"
    )


if __name__ == "__main__":
    main()
