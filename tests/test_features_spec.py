from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from serkit.errors import ParameterError
from serkit.features import Frontend, FrontendSpec, build_frontend, list_frontends, register_frontend


@register_frontend
@dataclass(frozen=True)
class _Scale(Frontend):
    name: ClassVar[str] = "_test_scale"
    output: ClassVar[str] = "vector"
    aliases: ClassVar[dict[str, str]] = {"g": "gain"}
    gain: float = 1.0
    n_keep: int = 3
    mode: str | None = None

    def extract_batch(self, waveforms, *, sample_rate):
        return [(self.gain * y[: self.n_keep]).astype(np.float32) for y in waveforms]


def test_parse_and_canonical_text():
    spec = FrontendSpec.parse("logmel(n_mels=40, hop=200, preemph=0.97)")
    assert spec.name == "logmel"
    assert dict(spec.params) == {"n_mels": 40, "hop": 200, "preemph": 0.97}
    assert str(spec) == "logmel(hop=200, n_mels=40, preemph=0.97)"
    assert FrontendSpec.parse(str(spec)) == spec
    assert FrontendSpec.parse("mfcc") == FrontendSpec("mfcc")
    assert FrontendSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("text", ["logmel(40)", "logmel(n_mels=foo)", "1abc", "logmel(**x)", "a.b(c=1)"])
def test_bad_spec_text(text):
    with pytest.raises(ParameterError):
        FrontendSpec.parse(text)


def test_build_resolves_aliases_types_and_defaults():
    fe = build_frontend("_test_scale(g=2, n_keep=2)")
    assert fe == _Scale(gain=2.0, n_keep=2)
    assert isinstance(fe.gain, float)
    # the full spec includes defaults, so changing a default changes the cache key
    assert dict(fe.spec.params) == {"gain": 2.0, "n_keep": 2, "mode": None}
    np.testing.assert_allclose(fe(np.arange(5, dtype=np.float32)), [0.0, 2.0])


def test_digest_is_stable_and_parameter_sensitive():
    a = build_frontend("_test_scale(gain=2)")
    assert a.cache_digest == build_frontend("_test_scale(n_keep=3, gain=2.0)").cache_digest
    assert a.cache_digest != build_frontend("_test_scale(gain=3)").cache_digest
    assert a.cache_digest.startswith("_test_scale-v1-")


def test_build_errors_are_helpful():
    with pytest.raises(ParameterError, match="Did you mean 'n_keep'"):
        build_frontend("_test_scale(n_kep=2)")
    with pytest.raises(ParameterError, match="must be of type"):
        build_frontend("_test_scale(n_keep='x')")
    with pytest.raises(ParameterError, match="must be of type"):
        build_frontend("_test_scale(n_keep=2.5)")
    with pytest.raises(ParameterError, match="Unknown frontend"):
        build_frontend("no_such_frontend")
    assert "_test_scale" in list_frontends()
