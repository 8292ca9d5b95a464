"""Emotion timelines: boundaries within 0.5 s of the true ones on concatenated segments, smoothing, absorption."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serkit.errors import ParameterError
from serkit.infer import Recognizer
from serkit.infer.timeline import decode_labels, place_windows, segment_windows, smooth_probabilities

SR = 16_000
# A stand-in "emotion" per tone frequency: the stub recogniser below hears the frequency.
TONES = {"neutral": 300.0, "happy": 520.0, "sad": 760.0, "angry": 1100.0}
LABELS = list(TONES)


class ToneBackend:
    """Classifies a window by which tone carries its energy: probabilities proportional to band energy.

    A window straddling two tones gets each in proportion to the time it covers, as a model hearing
    a mixture of two emotions would (the symmetric case the timeline is designed for).
    """

    classes = LABELS

    def logits(self, waveforms):
        out = []
        for w in waveforms:
            spec = np.abs(np.fft.rfft(w * np.hanning(len(w)))) ** 2
            freqs = np.fft.rfftfreq(len(w), 1 / SR)
            energy = np.array([spec[np.abs(freqs - f) < 40].sum() for f in TONES.values()])
            out.append(np.log(energy / energy.sum() + 1e-9))
        return np.array(out)


def concatenation(durations, labels, *, gap_s=0.0, seed=0):
    """Tone segments (amplitude 0.3, a little noise) with ``gap_s`` of near-silence between them."""
    rng = np.random.default_rng(seed)
    parts, starts, ends, t = [], [], [], 0.0
    for i, (d, lab) in enumerate(zip(durations, labels, strict=True)):
        if i and gap_s:
            parts.append(np.zeros(round(gap_s * SR), np.float32))
            t += gap_s
        n = round(d * SR)
        phase = rng.uniform(0, 2 * np.pi)
        parts.append((0.3 * np.sin(2 * np.pi * TONES[lab] * np.arange(n) / SR + phase)).astype(np.float32))
        starts.append(t)
        t += d
        ends.append(t)
    y = np.concatenate(parts)
    y = y + (0.001 * rng.standard_normal(len(y))).astype(np.float32)
    return y, starts, ends


DURATIONS = [7.3, 5.2, 9.1, 4.4, 8.0, 6.5, 10.2, 9.3]  # 60.0 s
SEQUENCE = ["neutral", "happy", "sad", "angry", "neutral", "sad", "happy", "angry"]


def test_boundaries_within_half_a_second_on_60_s_of_concatenated_segments():
    y, starts, _ = concatenation(DURATIONS, SEQUENCE)
    assert len(y) == 60 * SR
    tl = Recognizer(ToneBackend()).predict_timeline(y, sample_rate=SR, vad="none")
    assert [s.label for s in tl.segments] == SEQUENCE
    assert tl.segments[0].start == 0.0 and tl.segments[-1].end == pytest.approx(60.0)
    found = tl.boundaries
    assert len(found) == len(SEQUENCE) - 1
    errors = [abs(f - t) for f, t in zip(found, starts[1:], strict=True)]
    assert max(errors) <= 0.5, errors
    # Segments tile the speech: each ends where the next begins.
    for a, b in zip(tl.segments, tl.segments[1:], strict=False):
        assert a.end == b.start
    for seg, lab in zip(tl.segments, SEQUENCE, strict=True):
        assert max(seg.probabilities, key=seg.probabilities.get) == lab


def test_boundaries_with_pauses_and_energy_vad():
    y, starts, ends = concatenation(DURATIONS[:6], SEQUENCE[:6], gap_s=1.2, seed=1)
    tl = Recognizer(ToneBackend()).predict_timeline(y, sample_rate=SR, vad="energy")
    assert tl.vad == "energy" and len(tl.speech) == 6
    assert [s.label for s in tl.segments] == SEQUENCE[:6]
    for seg, s, e in zip(tl.segments, starts, ends, strict=True):
        assert abs(seg.start - s) <= 0.5 and abs(seg.end - e) <= 0.5, (seg, s, e)
    assert tl.boundaries == []  # silence separates every pair
    # ... and each change of emotion is reported in the middle of its pause
    mids = [0.5 * (e + s) for e, s in zip(ends, starts[1:], strict=False)]
    assert max(abs(c - m) for c, m in zip(tl.changes, mids, strict=True)) <= 0.5
    assert tl.label_at(starts[2] + 1.0) == SEQUENCE[2] and tl.label_at(ends[2] + 0.6) is None


def test_other_window_and_hop_settings_keep_boundaries():
    y, starts, _ = concatenation(DURATIONS[:4], SEQUENCE[:4], seed=2)
    tl = Recognizer(ToneBackend()).predict_timeline(
        y, sample_rate=SR, vad="none", window_s=3.0, hop_s=0.5, smooth=3
    )
    assert [s.label for s in tl.segments] == SEQUENCE[:4]
    assert max(abs(f - t) for f, t in zip(tl.boundaries, starts[1:], strict=True)) <= 0.5


def test_frames_carry_centres_and_smoothed_probabilities():
    y, _, _ = concatenation([4.0, 4.0], ["neutral", "sad"])
    tl = Recognizer(ToneBackend()).predict_timeline(
        y, sample_rate=SR, vad="none", window_s=2.0, hop_s=0.5, smooth=3
    )
    times = [f.time for f in tl.frames]
    assert times[0] == pytest.approx(1.0) and times[-1] == pytest.approx(7.0)
    assert np.allclose(np.diff(times), 0.5)
    raw = np.array([[f.raw[c] for c in LABELS] for f in tl.frames])
    smoothed = np.array([[f.probabilities[c] for c in LABELS] for f in tl.frames])
    np.testing.assert_allclose(smoothed, smooth_probabilities(raw, 3))
    assert not np.allclose(raw, smoothed)


def test_uncertain_windows_form_uncertain_segments():
    # Two tones at once: each gets about half the probability, under a 0.6 threshold.
    t = np.arange(6 * SR) / SR
    y = (0.2 * np.sin(2 * np.pi * TONES["happy"] * t) + 0.2 * np.sin(2 * np.pi * TONES["sad"] * t)).astype(
        np.float32
    )
    rec = Recognizer(ToneBackend(), calibration={"uncertain_below": 0.6})
    tl = rec.predict_timeline(y, sample_rate=SR, vad="none")
    assert [s.label for s in tl.segments] == ["uncertain"]
    assert tl.segments[0].probabilities["happy"] == pytest.approx(0.5, abs=0.1)


def test_place_windows_cover_the_region():
    assert place_windows((1.0, 2.0), window_s=2.0, hop_s=0.25) == [(1.0, 2.0)]
    w = place_windows((0.0, 5.1), window_s=2.0, hop_s=1.0)
    assert w[0] == (0.0, 2.0) and w[-1] == pytest.approx((3.1, 5.1))
    assert all(e - s == pytest.approx(2.0) for s, e in w)
    assert len(place_windows((0.0, 4.0), window_s=2.0, hop_s=1.0)) == 3  # no duplicate at the end


def test_smooth_probabilities_is_a_centred_truncated_moving_average():
    p = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(smooth_probabilities(p, 1), p)
    s = smooth_probabilities(p, 3)
    np.testing.assert_allclose(s[0], [0.5, 0.5])
    np.testing.assert_allclose(s[1], [2 / 3, 1 / 3])
    np.testing.assert_allclose(s[3], [1.0, 0.0])


def _decide(p):
    return LABELS[int(np.argmax(p))], False


def test_short_segments_are_absorbed_into_a_neighbour():
    centres = np.arange(12) * 0.25 + 1.0
    probs = np.zeros((12, 4))
    probs[:, 0] = 0.7
    probs[:, 2] = 0.3
    probs[5] = [0.35, 0.0, 0.65, 0.0]  # one window of "sad" (0.25 s)
    probs[9:] = [0.2, 0.8, 0.0, 0.0]  # the last three windows "happy"
    region = (0.0, 4.75)
    kept = segment_windows(centres, probs, LABELS, region, decide=_decide, min_segment_s=0.0)
    assert [s.label for s in kept] == ["neutral", "sad", "neutral", "happy"]
    assert kept[1].start == pytest.approx(2.125) and kept[1].end == pytest.approx(2.375)
    absorbed = segment_windows(centres, probs, LABELS, region, decide=_decide, min_segment_s=0.5)
    assert [s.label for s in absorbed] == ["neutral", "happy"]
    assert absorbed[0].start == 0.0 and absorbed[-1].end == 4.75
    assert absorbed[1].start == pytest.approx(0.5 * (centres[8] + centres[9]))
    # A region's only segment is kept however short.
    one = segment_windows(centres[:1], probs[:1], LABELS, (1.0, 1.3), decide=_decide, min_segment_s=5.0)
    assert len(one) == 1 and one[0].label == "neutral"


def test_bad_settings_are_refused():
    rec = Recognizer(ToneBackend())
    y = np.zeros(SR, np.float32) + 0.1
    for kwargs in ({"window_s": 0}, {"hop_s": -1}, {"smooth": 0}, {"min_segment_s": -1}, {"vad": "loud"}):
        with pytest.raises(ParameterError):
            rec.predict_timeline(y, sample_rate=SR, **kwargs)


def test_silence_gives_an_empty_timeline():
    rec = Recognizer(ToneBackend())
    y = np.zeros(3 * SR, np.float32)
    y[100] = 0.5  # not all-zero, so the file checks pass; the energy VAD finds no speech
    tl = rec.predict_timeline(y, sample_rate=SR, vad="energy")
    assert tl.speech == [] and tl.segments == [] and tl.frames == []


def _score(log_probs, weights, penalties, path):
    score = sum(weights[i] * log_probs[i, k] for i, k in enumerate(path))
    return score - sum(p for p, (a, b) in zip(penalties, itertools.pairwise(path), strict=False) if a != b)


def _brute_force(log_probs, weights, penalties):
    n, c = log_probs.shape
    best, arg = -np.inf, None
    for path in itertools.product(range(c), repeat=n):
        score = _score(log_probs, weights, penalties, path)
        if score > best + 1e-9:
            best, arg = score, path
    return best, arg


@given(
    st.integers(1, 6),
    st.integers(2, 3),
    st.floats(0.0, 5.0),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_decode_labels_finds_the_best_scoring_label_sequence(n, c, penalty, per_step, seed):
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(c), size=n)  # any scores; probabilities here
    weights = rng.uniform(0.1, 2.0, size=n)
    penalties = rng.uniform(0.0, penalty, size=n - 1) if per_step else np.full(n - 1, penalty)
    path = decode_labels(scores, weights, penalties if per_step else penalty)
    best, _ = _brute_force(scores, weights, penalties)
    assert _score(scores, weights, penalties, path) == pytest.approx(best, abs=1e-9)


def test_decode_labels_without_penalty_is_the_argmax_and_a_penalty_removes_a_lone_window():
    probs = np.full((9, 3), 0.1)
    probs[:, 0] = 0.8
    probs[4] = [0.3, 0.6, 0.1]  # one window mildly prefers class 1
    weights = np.full(9, 0.25)
    assert decode_labels(probs, weights, 0.0).tolist() == np.argmax(probs, axis=1).tolist()
    assert decode_labels(probs, weights, 0.2).tolist() == [0] * 9
    # A sustained change survives the same penalty, at the same place.
    probs[5:] = [0.1, 0.8, 0.1]
    assert decode_labels(probs, weights, 0.2).tolist() == [0] * 4 + [1] * 5
    assert decode_labels(np.zeros((0, 3)), np.zeros(0), 1.0).tolist() == []


def test_a_lone_odd_window_does_not_split_a_segment_but_penalty_zero_does():
    # 0.6 s of another tone inside 10 s of one: too little evidence for two changes of emotion.
    y, _, _ = concatenation([5.0, 0.6, 5.0], ["neutral", "sad", "neutral"])
    rec = Recognizer(ToneBackend())
    tl = rec.predict_timeline(y, sample_rate=SR, vad="none", min_segment_s=0.0)
    assert [s.label for s in tl.segments] == ["neutral"] and tl.changes == []
    split = rec.predict_timeline(y, sample_rate=SR, vad="none", min_segment_s=0.0, change_penalty=0.0)
    assert "sad" in [s.label for s in split.segments]
    with pytest.raises(ParameterError, match="change_penalty"):
        rec.predict_timeline(y, sample_rate=SR, change_penalty=-1.0)
