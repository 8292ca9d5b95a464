"""Inference: predict emotions in recordings with a shipped or trained model, and timelines of long ones.

>>> from serkit.infer import Recognizer
>>> rec = Recognizer.load()                      # the shipped default model  # doctest: +SKIP
>>> rec.predict("speech.wav")                    # Prediction(label=..., probabilities=..., ...)  # doctest: +SKIP
>>> rec.predict_timeline("meeting.wav").segments  # [Segment(start, end, label, probabilities), ...]  # doctest: +SKIP

See ``docs/inference.md``.
"""

from serkit.infer.recognizer import UNCERTAIN, Prediction, Recognizer, StreamSpec
from serkit.infer.shipped import example_clip
from serkit.infer.timeline import Frame, Segment, Timeline

__all__ = [
    "UNCERTAIN",
    "Frame",
    "Prediction",
    "Recognizer",
    "Segment",
    "StreamSpec",
    "Timeline",
    "example_clip",
]
