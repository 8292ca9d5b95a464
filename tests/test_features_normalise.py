"""Normalisers (utterance, corpus, speaker) and pad_batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from serkit.errors import ParameterError, SerkitError
from serkit.features.normalise import (
    CorpusNormaliser,
    NotFittedError,
    SpeakerNormaliser,
    UnknownSpeakerError,
    UtteranceNormaliser,
    normaliser_from_dict,
    pad_batch,
)


def _frames(seed: int, lengths: tuple[int, ...], n_features: int = 3, shift: float = 0.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    scales = np.arange(1, n_features + 1)
    return [(shift + scales * rng.normal(size=(n, n_features))).astype(np.float32) for n in lengths]


def _json_round_trip(obj):
    return normaliser_from_dict(json.loads(json.dumps(obj.to_dict())))


# ---------------------------------------------------------------------------------------------
# UtteranceNormaliser


def test_utterance_known_values() -> None:
    x = np.array([[1.0, 10.0, 7.0], [3.0, 30.0, 7.0]], dtype=np.float32)
    out = UtteranceNormaliser().fit().transform(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-1, -1, 0], [1, 1, 0]])  # constant column: 0, not NaN
    only_mean = UtteranceNormaliser(with_std=False).fit().transform(x)
    np.testing.assert_allclose(only_mean, [[-1, -10, 0], [1, 10, 0]])


def test_utterance_list_each_on_its_own() -> None:
    items = _frames(0, (5, 40, 1))
    out = UtteranceNormaliser().fit_transform(items)
    assert isinstance(out, list) and [o.shape for o in out] == [i.shape for i in items]
    for o in out[:2]:
        np.testing.assert_allclose(o.mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(o.std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(out[2], 0)  # one frame: no spread


def test_utterance_needs_fit_and_frames() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        UtteranceNormaliser().transform(np.ones((2, 2)))
    with pytest.raises(ParameterError, match="n_frames >= 1"):
        UtteranceNormaliser().fit().transform(np.ones(4))
    with pytest.raises(ParameterError, match="std_floor"):
        UtteranceNormaliser(std_floor=0).fit()
    restored = _json_round_trip(UtteranceNormaliser(with_mean=False).fit())
    assert isinstance(restored, UtteranceNormaliser) and restored.with_mean is False
    np.testing.assert_allclose(restored.transform(np.array([[1.0], [3.0]])).ravel(), [1, 3])


# ---------------------------------------------------------------------------------------------
# CorpusNormaliser


def test_corpus_known_values_and_frame_weighting() -> None:
    train = [np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[4.0, 1.0]])]
    norm = CorpusNormaliser().fit(train)
    # Frame-weighted: the mean of the three frames (2), not the mean of utterance means (2.5).
    np.testing.assert_allclose(norm.mean_, [2.0, 1.0])
    np.testing.assert_allclose(norm.var_, [8 / 3, 0.0])
    assert norm.n_frames_seen_ == 3 and norm.n_features_in_ == 2
    out = norm.transform([np.array([[2.0 + np.sqrt(8 / 3), 5.0]])])
    np.testing.assert_allclose(out[0], [[1.0, 4.0 / norm.std_floor]])
    # Constant training feature: scale is the floor, so training data map to exactly 0, never NaN.
    np.testing.assert_array_equal(norm.transform(train)[0][:, 1], 0.0)


def test_corpus_matches_concatenated_statistics() -> None:
    items = _frames(1, (7, 130, 2, 55), n_features=4, shift=100.0)
    norm = CorpusNormaliser().fit(items)
    stacked = np.concatenate(items).astype(np.float64)
    np.testing.assert_allclose(norm.mean_, stacked.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.var_, stacked.var(axis=0), rtol=1e-10)
    from_generator = CorpusNormaliser().fit(item for item in items)
    np.testing.assert_allclose(from_generator.mean_, norm.mean_)
    vectors = CorpusNormaliser().fit(stacked)  # a 2-D array: rows are vectors
    np.testing.assert_allclose(vectors.var_, norm.var_, rtol=1e-10)
    out = vectors.transform(stacked)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)


def test_corpus_statistics_come_from_training_data_only() -> None:
    train = _frames(2, (50, 60))
    test_a = _frames(3, (40,), shift=5.0)
    test_b = _frames(4, (10, 20), shift=-50.0)
    norm = CorpusNormaliser().fit(train)
    before = (norm.mean_.copy(), norm.scale_.copy())
    out_a = norm.transform(test_a)
    norm.transform(test_b)
    np.testing.assert_array_equal(norm.mean_, before[0])
    np.testing.assert_array_equal(norm.scale_, before[1])
    expected = (test_a[0].astype(np.float64) - before[0]) / before[1]
    np.testing.assert_allclose(out_a[0], expected, rtol=1e-6)
    # Shifted test data stay shifted: nothing was re-estimated on them.
    assert np.all(out_a[0].mean(axis=0) > 1.0)


def test_corpus_round_trip_and_inverse() -> None:
    norm = CorpusNormaliser(std_floor=1e-3).fit(_frames(5, (30, 9)))
    restored = _json_round_trip(norm)
    assert isinstance(restored, CorpusNormaliser) and restored.std_floor == 1e-3
    probe = _frames(6, (11,))
    np.testing.assert_array_equal(restored.transform(probe)[0], norm.transform(probe)[0])
    back = norm.inverse_transform(norm.transform(probe))[0]
    np.testing.assert_allclose(back, probe[0], rtol=1e-5, atol=1e-5)
    unfitted = _json_round_trip(CorpusNormaliser())
    with pytest.raises(NotFittedError):
        unfitted.transform(probe)


def test_corpus_errors() -> None:
    norm = CorpusNormaliser()
    with pytest.raises(NotFittedError, match="CorpusNormaliser is not fitted") as info:
        norm.transform([np.ones((2, 3))])
    assert isinstance(info.value, SerkitError) and isinstance(info.value, ValueError)
    with pytest.raises(ParameterError, match="zero frames"):
        norm.fit([np.zeros((0, 3))])
    with pytest.raises(ParameterError, match="same number of features"):
        norm.fit([np.ones((2, 3)), np.ones((2, 4))])
    norm.fit([np.ones((2, 3))])
    with pytest.raises(ParameterError, match=r"as seen in fit"):
        norm.transform([np.ones((2, 4))])
    with pytest.raises(ParameterError, match="2-D"):
        norm.fit(np.ones((2, 3, 4)))
    with pytest.raises(ParameterError, match="NaN or infinite"):
        CorpusNormaliser().fit([np.ones((2, 3)), np.array([[1.0, np.nan, 2.0]])])


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n_features: st.lists(
            hnp.arrays(
                np.float64,
                st.tuples(st.integers(1, 30), st.just(n_features)),
                elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
            ),
            min_size=1,
            max_size=6,
        )
    )
)
def test_corpus_output_on_training_data_is_standardised(items: list[np.ndarray]) -> None:
    norm = CorpusNormaliser()
    out = np.concatenate(norm.fit(items).transform(items))
    assert np.all(np.isfinite(out))
    std = np.concatenate(items).std(axis=0)
    spread = std > 1e-3  # well above the floor and float rounding
    np.testing.assert_allclose(out.mean(axis=0)[spread], 0.0, atol=1e-7)
    np.testing.assert_allclose(out.std(axis=0)[spread], 1.0, rtol=1e-6)
    # Features with (almost) no spread are centred, not blown up.
    assert np.all(np.abs(out[:, ~spread]) <= 1e-3 / norm.std_floor + 1e-9)


# ---------------------------------------------------------------------------------------------
# SpeakerNormaliser


def test_speaker_known_values() -> None:
    feats = [np.array([[1.0], [3.0]]), np.array([[10.0], [30.0]]), np.array([[5.0]])]
    norm = SpeakerNormaliser().fit(feats, ["a", "b", "a"])
    assert norm.speakers_ == ["a", "b"]
    np.testing.assert_allclose(norm.mean_, [[3.0], [20.0]])
    np.testing.assert_allclose(norm.var_, [[8 / 3], [100.0]])
    np.testing.assert_array_equal(norm.n_frames_seen_, [3, 2])
    out = norm.transform([np.array([[30.0]]), np.array([[3.0]])], ["b", "a"])
    np.testing.assert_allclose(out[0], [[1.0]])
    np.testing.assert_allclose(out[1], [[0.0]])
    assert norm.transductive_speakers_ == [] and not norm.used_transductive


def test_speaker_vectors_as_2d_array() -> None:
    x = np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0], [20.0, 30.0]])
    speakers = np.array([1, 1, 2, 2])  # NumPy ids, e.g. a manifest column
    norm = SpeakerNormaliser().fit(x, speakers)
    out = norm.transform(x, speakers)
    assert isinstance(out, np.ndarray) and out.shape == x.shape
    np.testing.assert_allclose(out, [[-1, -1], [1, 1], [-1, -1], [1, 1]])
    restored = _json_round_trip(norm)  # ids stored as plain ints
    assert restored.speakers_ == [1, 2]
    np.testing.assert_array_equal(restored.transform(x, [1, 1, 2, 2]), out)


def test_unseen_speaker_raises_without_transductive_flag() -> None:
    norm = SpeakerNormaliser().fit(_frames(7, (20, 20)), ["s1", "s2"])
    with pytest.raises(UnknownSpeakerError, match=r"speaker\(s\) 's9'.*transductive=True") as info:
        norm.transform(_frames(8, (5,)), ["s9"])
    assert isinstance(info.value, ValueError)
    assert norm.transductive_speakers_ == []


def test_transductive_speaker_uses_its_own_statistics_and_is_recorded() -> None:
    train = _frames(9, (30, 30))
    norm = SpeakerNormaliser(transductive=True).fit(train, ["s1", "s2"])
    fitted_mean = norm.mean_.copy()
    test = _frames(10, (25, 15), shift=40.0)
    out = norm.transform([*test, train[0]], ["new", "new", "s1"])
    stacked = np.concatenate(out[:2]).astype(np.float64)
    np.testing.assert_allclose(stacked.mean(axis=0), 0, atol=1e-5)  # fitted on the unseen audio itself
    np.testing.assert_allclose(stacked.std(axis=0), 1, atol=1e-4)
    assert norm.transductive_speakers_ == ["new"] and norm.used_transductive
    np.testing.assert_array_equal(norm.mean_, fitted_mean)  # fitted statistics untouched
    assert norm.speakers_ == ["s1", "s2"]
    restored = _json_round_trip(norm)
    assert isinstance(restored, SpeakerNormaliser)
    assert restored.transductive and restored.transductive_speakers_ == ["new"]
    np.testing.assert_array_equal(
        restored.transform([train[1]], ["s2"])[0], norm.transform([train[1]], ["s2"])[0]
    )


def test_speaker_errors() -> None:
    with pytest.raises(NotFittedError):
        SpeakerNormaliser().transform([np.ones((2, 2))], ["a"])
    with pytest.raises(ParameterError, match="one speaker per utterance"):
        SpeakerNormaliser().fit([np.ones((2, 2))], ["a", "b"])
    norm = SpeakerNormaliser().fit([np.ones((2, 2))], ["a"])
    with pytest.raises(ParameterError, match="as seen in fit"):
        norm.transform([np.ones((2, 3))], ["a"])


def test_from_dict_rejects_unknown_type() -> None:
    with pytest.raises(ParameterError, match="Unknown normaliser type 'Whitener'"):
        normaliser_from_dict({"type": "Whitener"})
    with pytest.raises(ParameterError, match="Cannot load"):
        CorpusNormaliser.from_dict(SpeakerNormaliser().to_dict())


# ---------------------------------------------------------------------------------------------
# pad_batch


def test_pad_batch_numpy() -> None:
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    b = np.array([[9.0, 9.0]], dtype=np.float32)
    padded, lengths, mask = pad_batch([a, b, np.zeros((0, 2), np.float32)], pad_value=-1.0)
    assert padded.shape == (3, 3, 2) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[0], a)
    np.testing.assert_array_equal(padded[1], [[9, 9], [-1, -1], [-1, -1]])
    np.testing.assert_array_equal(padded[2], -1)
    assert lengths.dtype == np.int64 and lengths.tolist() == [3, 1, 0]
    assert mask.dtype == bool and mask.tolist() == [[True] * 3, [True, False, False], [False] * 3]
    promoted, _, _ = pad_batch([np.ones(2, np.int16), np.ones(3, np.float64)])
    assert promoted.dtype == np.float64 and promoted.shape == (2, 3)


def test_pad_batch_torch() -> None:
    torch = pytest.importorskip("torch")
    x = [torch.ones(2, 4, 3), torch.zeros(5, 4, 3)]
    padded, lengths, mask = pad_batch(x, pad_value=7.0)
    assert isinstance(padded, torch.Tensor) and padded.shape == (2, 5, 4, 3)
    assert torch.all(padded[0, 2:] == 7) and torch.all(padded[0, :2] == 1)
    assert lengths.tolist() == [2, 5] and lengths.dtype == torch.int64
    assert mask.dtype == torch.bool and mask.sum().item() == 7


def test_pad_batch_errors() -> None:
    with pytest.raises(ParameterError, match="at least one"):
        pad_batch([])
    with pytest.raises(ParameterError, match="share its shape"):
        pad_batch([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ParameterError, match="0-D"):
        pad_batch([np.float32(1.0)])
