"""Corpus adapters: every adapter on a synthetic miniature of its documented layout, and the real
corpora under ../shared/corpora (``corpus`` marker; skipped when absent) against their SOURCE.txt counts.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from serkit.data import prepare_corpus
from serkit.data.corpora import get_corpus, list_corpora
from serkit.data.corpora.generic import GenericCorpus
from serkit.errors import CorpusError, ParameterError
from serkit.labels import EMOTIONS, SENTIMENTS, get_label_set

from conftest import corpus_root
from corpus_miniatures import BUILDERS, audio


def prepare(name: str, root: Path, **options):
    adapter = get_corpus(name, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the generic unknown-speaker warning has its own test
        return prepare_corpus(adapter, root, workers=1)


def build(name: str, tmp_path: Path, ext: str = ".wav") -> Path:
    return BUILDERS[name](tmp_path / name, ext)


def by_id(report) -> dict[str, dict]:
    return {r["id"]: r for r in report.manifest.to_dict("records")}


def unmatched(report) -> dict[str, str]:
    """Problem file name (without extension) -> reason, for the 'unmatched' problems."""
    return {Path(p.path).with_suffix("").name: p.reason for p in report.problems if p.kind == "unmatched"}


def check(row: dict, **expected) -> None:
    got = {k: (None if pd.isna(row[k]) else row[k]) for k in expected}
    assert got == expected


# -- registry and generic contract ------------------------------------------------------------


def test_every_adapter_is_registered_with_metadata():
    assert set(BUILDERS) <= set(list_corpora())
    for name in BUILDERS:
        adapter = get_corpus(name)
        assert adapter.name == name
        assert adapter.title and adapter.citation and adapter.licence and adapter.layout
        assert sys.modules[type(adapter).__module__].__doc__.count("\n") > 5, (
            "layout documented in the module"
        )
        canon = SENTIMENTS if adapter.task == "regression" else EMOTIONS
        assert set(adapter.labels.values()) <= set(canon), name


def test_unknown_corpus_suggests_close_names():
    with pytest.raises(CorpusError, match="Did you mean 'crema-d'"):
        get_corpus("cremad")
    assert get_corpus("turev_db").name == "turev-db"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_empty_folder_says_which_layout_is_expected(name, tmp_path):
    with pytest.raises(CorpusError, match="Expected layout"):
        prepare(name, tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        prepare(name, tmp_path / "missing")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_ids_do_not_depend_on_the_audio_extension(name, tmp_path):
    reports = {
        ext: prepare(name, BUILDERS[name](tmp_path / ext.strip("."), ext))
        for ext in (".wav", ".flac", "mixed")
    }
    ids = {ext: sorted(r.manifest["id"]) for ext, r in reports.items()}
    assert ids[".wav"] == ids[".flac"] == ids["mixed"]
    assert len(ids[".wav"]) >= 3
    assert all(i.startswith(f"{name}/") for i in ids[".wav"])
    problems = {ext: sorted(unmatched(r)) for ext, r in reports.items()}
    assert problems[".wav"] == problems[".flac"] == problems["mixed"]
    assert problems[".wav"], "every miniature holds odd files that must be reported"
    flac = reports[".flac"].manifest
    assert set(flac["path"].str.slice(-5)) == {".flac"}
    assert (flac["duration"].round(3) == 0.3).all() and (flac["sample_rate"] == 16000).all()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_wav_is_preferred_when_both_copies_exist(name, tmp_path):
    root = build(name, tmp_path, ".wav")
    for wav in list(root.rglob("*.wav")):
        audio(wav.with_suffix(""), ".flac")
    report = prepare(name, root)
    assert set(report.manifest["path"].str.slice(-4)) == {".wav"}
    plain = prepare(name, build(name, tmp_path / "plain"))
    assert sorted(report.manifest["id"]) == sorted(plain.manifest["id"])


# -- one test per adapter: ids, speakers, genders, labels, sessions, extras, reported oddities --


def test_ravdess(tmp_path):
    report = prepare("ravdess", build("ravdess", tmp_path, "mixed"))
    rows = by_id(report)
    assert sorted(rows) == [
        "ravdess/Actor_01/03-01-05-01-01-01-01",
        "ravdess/Actor_02/03-01-01-01-01-01-02",
        "ravdess/Actor_02/03-01-03-02-02-02-02",
    ]
    check(
        rows["ravdess/Actor_01/03-01-05-01-01-01-01"], speaker="01", gender="m", label="angry", text_id="01"
    )
    check(
        rows["ravdess/Actor_02/03-01-03-02-02-02-02"],
        speaker="02",
        gender="f",
        label="happy",
        intensity="strong",
    )
    odd = unmatched(report)
    assert "duplicate of take" in odd["01-01-05-01-01-01-01"] and "notes" in odd


def test_emodb(tmp_path):
    report = prepare("emodb", build("emodb", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == ["emodb/wav/03a01Fa", "emodb/wav/08b02Wb", "emodb/wav/16a05Tc"]
    check(rows["emodb/wav/03a01Fa"], speaker="03", gender="m", label="happy", raw_label="F", text_id="a01")
    check(rows["emodb/wav/08b02Wb"], speaker="08", gender="f", label="angry", text_id="b02")
    check(rows["emodb/wav/16a05Tc"], label="sad", language="de")
    assert list(unmatched(report)) == ["xx"]


def test_emovo(tmp_path):
    report = prepare("emovo", build("emovo", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "emovo/f1/dis-f1-b1",
        "emovo/f1/gio-f1-l2",
        "emovo/m2/neu-m2-d1",
        "emovo/m2/rab-m2-n3",
    ]
    check(rows["emovo/f1/gio-f1-l2"], speaker="f1", gender="f", label="happy", raw_label="gio", text_id="l2")
    check(rows["emovo/m2/rab-m2-n3"], speaker="m2", gender="m", label="angry", session=None, language="it")
    odd = unmatched(report)
    assert "folder m2" in odd["rab-m1-b1"] and "readme" in odd


def test_turevdb(tmp_path):
    report = prepare("turev-db", build("turev-db", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "turev-db/Angry/1157_kz_acik",
        "turev-db/Calm/1234_sk_beste",
        "turev-db/Happy/6783_mt_cay",
        "turev-db/Sad/7895_hl_ogul1",
    ]
    check(
        rows["turev-db/Sad/7895_hl_ogul1"],
        speaker="7895",
        gender=None,
        label="sad",
        raw_label="hl",
        text_id="ogul",
    )
    check(rows["turev-db/Calm/1234_sk_beste"], label="calm", text_id="beste", language="tr")
    odd = unmatched(report)
    assert "folder Angry" in odd["1234_hl_acik"] and "foo" in odd
    # The "Sound Source" folder itself is accepted as root, with the same ids.
    again = prepare("turev-db", tmp_path / "turev-db" / "Sound Source")
    assert sorted(again.manifest["id"]) == sorted(rows)


def test_casia(tmp_path):
    report = prepare("casia", build("casia", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "casia/ZhaoZuoxiang/surprise/250",
        "casia/liuchanhg/angry/201",
        "casia/wangzhe/fear/202",
        "casia/zhaoquanyin/neutral/203",
    ]
    check(rows["casia/liuchanhg/angry/201"], speaker="liuchanhg", gender="f", label="angry", text_id="201")
    check(rows["casia/wangzhe/fear/202"], speaker="wangzhe", gender="m", label="fearful", raw_label="fear")
    check(
        rows["casia/ZhaoZuoxiang/surprise/250"], gender="m", label="surprised", text_id="250", language="zh"
    )
    check(rows["casia/zhaoquanyin/neutral/203"], gender="f", label="neutral")
    odd = unmatched(report)
    assert set(odd) == {"notes", "201"} and "not a CASIA emotion" in odd["201"]


def test_iemocap(tmp_path):
    report = prepare("iemocap", build("iemocap", tmp_path, "mixed"))
    rows = by_id(report)
    d1 = "iemocap/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01"
    d2 = "iemocap/Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1"
    assert sorted(rows) == [f"{d1}_F000", f"{d1}_F002", f"{d1}_M001", f"{d2}_F001", f"{d2}_M000"]
    check(
        rows[f"{d1}_F000"],
        speaker="Ses01F",
        gender="f",
        session="Session1",
        label="neutral",
        raw_label="neu",
        text_id="Ses01F_impro01",
        valence=2.5,
        arousal=2.5,
        dominance=2.5,
        dialog_type="improvised",
    )
    # The utterance's own letter gives the speaker: M001 in a Ses01F dialog is the male of session 1.
    check(
        rows[f"{d1}_M001"],
        speaker="Ses01M",
        gender="m",
        label="angry",
        valence=1.5,
        arousal=4.0,
        dominance=4.5,
        start_s=10.01,
        end_s=11.3925,
    )
    check(rows[f"{d1}_F002"], label="other", raw_label="xxx")
    check(
        rows[f"{d2}_M000"],
        speaker="Ses02M",
        session="Session2",
        label="excited",
        dialog_type="scripted",
        text_id="Ses02M_script01_1",
    )
    check(rows[f"{d2}_F001"], speaker="Ses02F", gender="f", label="happy")
    odd = unmatched(report)
    assert "EmoEvaluation" in odd["Ses01F_impro01_F009"] and "junk" in odd
    four = get_label_set("iemocap4").apply(report.manifest)
    assert dict(zip(four["raw_label"], four["label"], strict=True)) == {
        "neu": "neutral",
        "ang": "angry",
        "exc": "happy",
        "hap": "happy",
    }
    # The folder holding IEMOCAP_full_release and the release folder itself give the same ids.
    again = prepare("iemocap", tmp_path / "iemocap" / "IEMOCAP_full_release")
    assert sorted(again.manifest["id"]) == sorted(rows)


def test_meld(tmp_path):
    report = prepare("meld", build("meld", tmp_path))
    rows = by_id(report)
    base = "meld/MELD.Raw"
    assert sorted(rows) == [
        f"{base}/dev/dev_splits_complete/dia0_utt0",
        f"{base}/test/output_repeated_splits_test/dia0_utt0",
        f"{base}/train/train_splits/dia0_utt0",
        f"{base}/train/train_splits/dia0_utt1",
    ]
    train0 = rows[f"{base}/train/train_splits/dia0_utt0"]
    check(
        train0,
        speaker="Chandler",
        gender=None,
        label="neutral",
        split="train",
        sentiment="neutral",
        dialog="train/dia0",
        season="8",
        episode="21",
    )
    assert "company\u2019s" in train0["text"]  # cp1252 fallback decoded the apostrophe
    check(
        rows[f"{base}/train/train_splits/dia0_utt1"],
        speaker="The Interviewer",
        label="happy",
        raw_label="joy",
        sentiment="positive",
    )
    check(rows[f"{base}/dev/dev_splits_complete/dia0_utt0"], speaker="Monica", label="surprised", split="dev")
    check(
        rows[f"{base}/test/output_repeated_splits_test/dia0_utt0"], speaker="Joey", label="sad", split="test"
    )
    odd = unmatched(report)
    assert set(odd) == {"final_videos_testdia0_utt0", "dia9_utt9", "dia0_utt2"}
    assert "no row" in odd["dia9_utt9"] and "no file" in odd["dia0_utt2"]


def test_meld_prefers_extracted_audio_over_video_in_another_folder(tmp_path):
    root = build("meld", tmp_path)
    # An extracted copy in a parallel tree with the official split folder name.
    (root / "audio/train_splits").mkdir(parents=True)
    audio(root / "audio/train_splits/dia0_utt0", ".flac")
    (root / "MELD.Raw/train/train_splits/dia0_utt0.wav").rename(
        root / "MELD.Raw/train/train_splits/dia0_utt0.mp4"
    )
    scan = get_corpus("meld").scan(root)
    kept = [
        r["path"]
        for r in scan.rows
        if r["split"] == "train" and r["path"].endswith(("dia0_utt0.flac", ".mp4"))
    ]
    assert kept == [str((root / "audio/train_splits/dia0_utt0.flac").resolve())]
    assert any("duplicate" in reason and p.suffix == ".mp4" for p, reason in scan.unmatched)


def test_tess(tmp_path):
    report = prepare("tess", build("tess", tmp_path))
    rows = {Path(i).name: r for i, r in by_id(report).items()}
    assert sorted(rows) == ["OAF_back_angry", "OAF_back_ps", "OA_bite_neutral", "YAF_dog_fear", "YAF_dog_ps"]
    check(rows["OAF_back_angry"], speaker="OAF", gender="f", label="angry", text_id="back")
    check(rows["OAF_back_ps"], label="surprised", raw_label="ps")
    check(rows["YAF_dog_ps"], speaker="YAF", label="surprised", text_id="dog")
    check(rows["OA_bite_neutral"], speaker="OAF", label="neutral", text_id="bite")  # the OA_ quirk
    check(rows["YAF_dog_fear"], label="fearful")
    assert set(unmatched(report)) == {"OAF_dog_fear", "YAF_dog_bored"}


def test_cremad(tmp_path):
    report = prepare("crema-d", build("crema-d", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "crema-d/1001_DFA_ANG_XX",
        "crema-d/1001_IEO_HAP_HI",
        "crema-d/1002_TIE_SAD_LO",
        "crema-d/1091_WSI_NEU_XX",
    ]
    check(
        rows["crema-d/1001_DFA_ANG_XX"],
        speaker="1001",
        gender="m",
        label="angry",
        text_id="DFA",
        intensity="unspecified",
        age="51",
    )
    check(rows["crema-d/1001_IEO_HAP_HI"], label="happy", intensity="high")
    check(rows["crema-d/1002_TIE_SAD_LO"], gender="f", label="sad", intensity="low")
    check(rows["crema-d/1091_WSI_NEU_XX"], gender=None, label="neutral")  # not in the demographics file
    assert set(unmatched(report)) == {"1001_XYZ_ANG_XX", "0999_DFA_ANG_XX"}


def test_cremad_without_demographics_leaves_gender_missing(tmp_path):
    root = build("crema-d", tmp_path)
    (root / "VideoDemographics.csv").unlink()
    assert prepare("crema-d", root).manifest["gender"].isna().all()


def test_savee(tmp_path):
    report = prepare("savee", build("savee", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "savee/ALL/JK_su05",
        "savee/AudioData/DC/a01",
        "savee/AudioData/JE/sa02",
        "savee/AudioData/KL/n30",
    ]
    check(rows["savee/AudioData/DC/a01"], speaker="DC", gender="m", label="angry", text_id="a01")
    check(rows["savee/AudioData/JE/sa02"], speaker="JE", label="sad", raw_label="sa")
    check(rows["savee/AudioData/KL/n30"], label="neutral", text_id="n30")
    check(rows["savee/ALL/JK_su05"], speaker="JK", gender="m", label="surprised", text_id="su05")
    odd = unmatched(report)
    assert "duplicate" in odd["DC_a01"] and "x01" in odd


def test_urdu(tmp_path):
    report = prepare("urdu", build("urdu", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "urdu/Angry/SM1_F1_A01",
        "urdu/Happy/SF2_F3_H10",
        "urdu/Neutral/SM1_F2_N05",
        "urdu/Sad/SM27_F1_S99",
    ]
    check(
        rows["urdu/Angry/SM1_F1_A01"], speaker="SM1", gender="m", label="angry", text_id=None, language="ur"
    )
    check(rows["urdu/Happy/SF2_F3_H10"], speaker="SF2", gender="f", label="happy")
    check(rows["urdu/Neutral/SM1_F2_N05"], speaker="SM1", label="neutral")
    check(rows["urdu/Sad/SM27_F1_S99"], speaker="SM27", label="sad")
    odd = unmatched(report)
    assert "folder Sad" in odd["SM1_F1_A02"] and "recording" in odd


def test_nemo(tmp_path):
    report = prepare("nemo", build("nemo", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "nemo/samples/KL1_surprised_0",
        "nemo/samples/SB0_anger_0",
        "nemo/samples/SB0_happiness_1",
    ]
    check(
        rows["nemo/samples/SB0_anger_0"],
        speaker="SB0",
        gender="m",
        label="angry",
        raw_label="anger",
        text_id="dzień dobry",
        text="Dzień dobry!",
        age="24",
        language="pl",
    )
    check(rows["nemo/samples/SB0_happiness_1"], label="happy", text_id="dzień dobry")
    check(rows["nemo/samples/KL1_surprised_0"], speaker="KL1", gender="f", label="surprised")
    odd = unmatched(report)
    assert "no row" in odd["extra_take"] and "no audio" in odd["KL1_fear_9"]


def test_chsims_is_a_regression_corpus_with_video_as_speaker_proxy(tmp_path):
    assert get_corpus("ch-sims").task == "regression"
    report = prepare("ch-sims", build("ch-sims", tmp_path))
    rows = by_id(report)
    assert sorted(rows) == [
        "ch-sims/Raw/video_0001/0001",
        "ch-sims/Raw/video_0001/0002",
        "ch-sims/Raw/video_0002/0001",
    ]
    check(
        rows["ch-sims/Raw/video_0001/0001"],
        speaker="video_0001",
        gender=None,
        score=0.8,
        label="positive",
        split="train",
        score_text=1.0,
        score_audio=0.6,
        score_vision=0.8,
        annotation="positive",
        text="我很高兴",
    )
    check(rows["ch-sims/Raw/video_0001/0002"], score=0.0, label="neutral", split="dev")
    check(
        rows["ch-sims/Raw/video_0002/0001"], speaker="video_0002", score=-0.6, label="negative", split="test"
    )
    assert report.manifest["score"].dtype.kind == "f"
    odd = unmatched(report)
    assert set(odd) == {"0001", "2"} and "no audio" in odd["2"]
    assert "speaker-group proxy" in sys.modules[type(get_corpus("ch-sims")).__module__].__doc__.lower()


def test_mosi_parses_video_ids_with_underscores(tmp_path):
    report = prepare("cmu-mosi", build("cmu-mosi", tmp_path))
    rows = {Path(i).name: r for i, r in by_id(report).items()}
    assert sorted(rows) == ["03bSnISJMiM_1", "03bSnISJMiM_2", "_dI--eQ6qVU_1"]
    check(rows["03bSnISJMiM_1"], speaker="03bSnISJMiM", score=-2.4, label="negative", split="train")
    check(rows["03bSnISJMiM_2"], score=1.8, label="positive", split="dev")
    check(rows["_dI--eQ6qVU_1"], speaker="_dI--eQ6qVU", score=0.0, label="neutral", split="test")
    assert list(unmatched(report)) == ["03bSnISJMiM_13"]


def test_mmsa_score_out_of_range_is_an_error(tmp_path):
    root = build("ch-sims", tmp_path)
    text = (root / "label.csv").read_text().replace("0.8,1.0,0.6", "2.5,1.0,0.6")
    (root / "label.csv").write_text(text)
    with pytest.raises(CorpusError, match=r"scores lie in \[-1, 1\]"):
        get_corpus("ch-sims").scan(root)


# -- generic ----------------------------------------------------------------------------------


def test_generic_folder_per_label_warns_about_unknown_speakers(tmp_path):
    root = build("generic", tmp_path)
    with pytest.warns(UserWarning, match="unknown speaker: splits cannot be speaker-independent"):
        report = prepare_corpus(GenericCorpus(language="de"), root, workers=1)
    rows = by_id(report)
    assert sorted(rows) == [
        "generic/Anger/a2",
        "generic/angry/a1",
        "generic/neutral/n1",
        "generic/pleasant/p1",
    ]
    check(rows["generic/Anger/a2"], label="angry", raw_label="Anger", speaker="Anger/a2", language="de")
    check(rows["generic/pleasant/p1"], label="pleasant")  # not an emotion name: kept, lower-cased
    assert report.manifest["speaker"].is_unique
    assert list(unmatched(report)) == ["stray"]


def test_generic_label_map_and_speaker_folders(tmp_path):
    root = tmp_path / "c"
    for name in ("spk1/Wut/x", "spk1/Freude/y", "spk2/Wut/z"):
        audio(root / name, ".flac")
    adapter = get_corpus("generic", speaker_folders="true", label_map="Wut=anger,Freude=happiness")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # speakers are known: no warning
        report = prepare_corpus(adapter, root, workers=1)
    rows = by_id(report)
    check(rows["generic/spk1/Wut/x"], speaker="spk1", label="angry", raw_label="Wut")
    check(rows["generic/spk1/Freude/y"], speaker="spk1", label="happy")
    check(rows["generic/spk2/Wut/z"], speaker="spk2", label="angry")
    with pytest.raises(ParameterError, match="raw=target"):
        get_corpus("generic", label_map="Wut:anger")


def test_generic_csv(tmp_path):
    root = tmp_path / "c"
    for name in ("clips/a", "clips/b", "clips/c"):
        audio(root / name, ".wav")
    (root / "meta").mkdir()
    (root / "meta" / "list.csv").write_text(
        "path,label,speaker,gender,session,mood\n"
        "../clips/a.wav,Sadness,s1,Female,day1,low\n"
        "clips/b.wav,neu,s2,m,,high\n"  # relative to root rather than to the CSV
        "../clips/c.wav,fear,,,,\n"
        "../clips/missing.wav,anger,s3,f,,\n"
    )
    with pytest.warns(UserWarning, match="unknown speaker"):
        report = prepare_corpus(GenericCorpus(csv="meta/list.csv", language="en"), root, workers=1)
    rows = by_id(report)
    assert sorted(rows) == ["generic/clips/a", "generic/clips/b", "generic/clips/c"]
    check(
        rows["generic/clips/a"],
        label="sad",
        raw_label="Sadness",
        speaker="s1",
        gender="f",
        session="day1",
        mood="low",
        language="en",
    )
    check(rows["generic/clips/b"], label="neutral", speaker="s2", gender="m", session=None, mood="high")
    check(rows["generic/clips/c"], label="fearful", speaker="clips/c", gender=None)
    assert [(Path(p.path).name, p.kind) for p in report.problems] == [("missing.wav", "missing")]


def test_generic_csv_errors(tmp_path):
    (tmp_path / "bad.csv").write_text("file,emotion\nx.wav,angry\n")
    with pytest.raises(CorpusError, match="lacks the column"):
        GenericCorpus(csv=tmp_path / "bad.csv").scan(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        GenericCorpus(csv="nope.csv").scan(tmp_path)
    audio(tmp_path / "x", ".wav")
    (tmp_path / "g.csv").write_text("path,label,gender\nx.wav,angry,robot\n")
    with pytest.raises(CorpusError, match="Gender 'robot'"):
        GenericCorpus(csv=tmp_path / "g.csv").scan(tmp_path)


# -- real corpora (../shared/corpora; counts from each SOURCE.txt) ----------------------------


def _real(name: str):
    return prepare_corpus(name, corpus_root(name), workers=2)


@pytest.fixture(scope="module")
def ravdess_real():
    return _real("ravdess")


@pytest.fixture(scope="module")
def emodb_real():
    return _real("emodb")


@pytest.fixture(scope="module")
def emovo_real():
    return _real("emovo")


@pytest.fixture(scope="module")
def turev_real():
    return _real("turev-db")


@pytest.fixture(scope="module")
def casia_real():
    return _real("casia")


def _hours(report) -> float:
    return float(report.manifest["duration"].sum()) / 3600


def _speaker_genders(m: pd.DataFrame) -> dict[str, int]:
    return m.drop_duplicates("speaker")["gender"].value_counts(dropna=False).to_dict()


def _code_label_counts(m: pd.DataFrame, code_of) -> dict[tuple[str, str], int]:
    """(raw code read from the file path by ``code_of``, not the adapter's raw_label; label) -> count."""
    return dict(Counter(zip(map(code_of, map(Path, m["path"])), m["label"], strict=True)))


def _expected_counts(table: dict[str, tuple[str, int]]) -> dict[tuple[str, str], int]:
    return {(code, label): n for code, (label, n) in table.items()}


def _label_counts(table: dict[str, tuple[str, int]]) -> dict[str, int]:
    return {label: n for label, n in table.values()}


# Per-code counts typed from each SOURCE.txt, with the code -> label meaning stated there.
# RAVDESS: "per emotion: neutral 96, calm 192, happy 192, sad 192, angry 192, fearful 192, disgust 192,
# surprised 192"; "EE = emotion: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful,
# 07 disgust, 08 surprised".
RAVDESS_COUNTS = {
    "01": ("neutral", 96),
    "02": ("calm", 192),
    "03": ("happy", 192),
    "04": ("sad", 192),
    "05": ("angry", 192),
    "06": ("fearful", 192),
    "07": ("disgust", 192),
    "08": ("surprised", 192),
}
# EmoDB: "per label: W anger 127, L boredom 81, E disgust 46, A fear 69, F happiness 71, T sadness 62,
# N neutral 79".
EMODB_COUNTS = {
    "W": ("angry", 127),
    "L": ("bored", 81),
    "E": ("disgust", 46),
    "A": ("fearful", 69),
    "F": ("happy", 71),
    "T": ("sad", 62),
    "N": ("neutral", 79),
}
# EMOVO: "per label: dis 84, gio 84, neu 84, pau 84, rab 84, sor 84, tri 84"; "dis=disgust, gio=joy,
# neu=neutral, pau=fear, rab=anger, sor=surprise, tri=sadness".
EMOVO_COUNTS = {
    "dis": ("disgust", 84),
    "gio": ("happy", 84),
    "neu": ("neutral", 84),
    "pau": ("fearful", 84),
    "rab": ("angry", 84),
    "sor": ("surprised", 84),
    "tri": ("sad", 84),
}
# TurEV-DB: "Per emotion: Angry 487, Calm 408, Happy 357, Sad 483"; "kz = kızgın (Angry), sk = sakin
# (Calm), mt = mutlu (Happy), hl = hüzünlü (Sad)", the code always consistent with the folder.
TUREV_COUNTS = {
    "Angry": ("angry", 487),
    "Calm": ("calm", 408),
    "Happy": ("happy", 357),
    "Sad": ("sad", 483),
}
TUREV_CODE_COUNTS = {
    "kz": ("angry", 487),
    "sk": ("calm", 408),
    "mt": ("happy", 357),
    "hl": ("sad", 483),
}
# CASIA: "Per emotion: angry 200, fear 200, happy 200, neutral 200, sad 200, surprise 200".
CASIA_COUNTS = {
    "angry": ("angry", 200),
    "fear": ("fearful", 200),
    "happy": ("happy", 200),
    "neutral": ("neutral", 200),
    "sad": ("sad", 200),
    "surprise": ("surprised", 200),
}


@pytest.mark.corpus
def test_real_ravdess(ravdess_real):
    m = ravdess_real.manifest
    assert len(m) == 1440 and not ravdess_real.problems
    assert m["speaker"].nunique() == 24 and m["label"].nunique() == 8
    assert m["label"].value_counts().to_dict() == _label_counts(RAVDESS_COUNTS)
    # 07 and 08 both have 192 files: only the per-code counts tell a swap.
    assert _code_label_counts(m, lambda p: p.stem.split("-")[2]) == _expected_counts(RAVDESS_COUNTS)
    assert m["intensity"].value_counts().to_dict() == {"normal": 768, "strong": 672}
    assert _speaker_genders(m) == {"m": 12, "f": 12}
    assert (m["sample_rate"] == 16000).all()
    assert _hours(ravdess_real) == pytest.approx(1.480, abs=0.01)


@pytest.mark.corpus
def test_real_emodb(emodb_real):
    m = emodb_real.manifest
    assert len(m) == 535 and not emodb_real.problems
    assert m["speaker"].nunique() == 10 and m["label"].nunique() == 7
    assert m["raw_label"].value_counts().to_dict() == {
        "W": 127,
        "L": 81,
        "N": 79,
        "F": 71,
        "A": 69,
        "T": 62,
        "E": 46,
    }
    assert m["label"].value_counts().to_dict() == _label_counts(EMODB_COUNTS)
    assert _code_label_counts(m, lambda p: p.stem[5]) == _expected_counts(EMODB_COUNTS)
    assert m["gender"].value_counts().to_dict() == {"f": 302, "m": 233}
    assert _speaker_genders(m) == {"m": 5, "f": 5}
    assert float(m["duration"].sum()) == pytest.approx(1487.09, abs=0.01)
    assert _hours(emodb_real) == pytest.approx(0.413, abs=0.01)


@pytest.mark.corpus
def test_real_emovo(emovo_real):
    m = emovo_real.manifest
    assert len(m) == 588 and not emovo_real.problems
    assert m["speaker"].nunique() == 6 and m["label"].nunique() == 7
    assert set(m["raw_label"].value_counts()) == {84}
    assert m["label"].value_counts().to_dict() == _label_counts(EMOVO_COUNTS)
    assert _code_label_counts(m, lambda p: p.stem.split("-")[0]) == _expected_counts(EMOVO_COUNTS)
    assert m["speaker"].value_counts().to_dict() == dict.fromkeys(["f1", "f2", "f3", "m1", "m2", "m3"], 98)
    assert set(m["text_id"].value_counts()) == {42} and m["text_id"].nunique() == 14
    assert _speaker_genders(m) == {"f": 3, "m": 3}
    assert _hours(emovo_real) == pytest.approx(0.510, abs=0.01)


@pytest.mark.corpus
def test_real_turevdb(turev_real):
    m = turev_real.manifest
    assert len(m) == 1735 and not turev_real.problems
    assert m["speaker"].nunique() == 6 and m["label"].nunique() == 4
    assert m["label"].value_counts().to_dict() == _label_counts(TUREV_COUNTS)
    assert _code_label_counts(m, lambda p: p.parent.name) == _expected_counts(TUREV_COUNTS)
    assert _code_label_counts(m, lambda p: p.stem.split("_")[1]) == _expected_counts(TUREV_CODE_COUNTS)
    table = pd.crosstab(m["speaker"], m["label"])[["angry", "calm", "happy", "sad"]]
    assert table.to_dict("index") == {
        "1157": {"angry": 77, "calm": 0, "happy": 0, "sad": 73},
        "1234": {"angry": 82, "calm": 82, "happy": 82, "sad": 82},
        "1358": {"angry": 82, "calm": 82, "happy": 82, "sad": 82},
        "1984": {"angry": 82, "calm": 82, "happy": 82, "sad": 82},
        "6783": {"angry": 82, "calm": 82, "happy": 82, "sad": 82},
        "7895": {"angry": 82, "calm": 80, "happy": 29, "sad": 82},
    }
    assert m["gender"].isna().all()
    assert m["text_id"].nunique() == 82 and "ogul1" not in set(m["text_id"])
    assert _hours(turev_real) == pytest.approx(0.463, abs=0.01)


@pytest.mark.corpus
def test_real_casia(casia_real):
    m = casia_real.manifest
    assert len(m) == 1200 and not casia_real.problems
    assert m["speaker"].nunique() == 4 and m["label"].nunique() == 6
    assert m["label"].value_counts().to_dict() == _label_counts(CASIA_COUNTS)
    assert _code_label_counts(m, lambda p: p.parent.name) == _expected_counts(CASIA_COUNTS)
    assert set(m["speaker"].value_counts()) == {300}
    assert sorted(m["text_id"].unique()) == [str(i) for i in range(201, 251)]
    assert _speaker_genders(m) == {"m": 2, "f": 2}
    assert m.groupby("speaker")["gender"].first().to_dict() == {
        "ZhaoZuoxiang": "m",
        "liuchanhg": "f",
        "wangzhe": "m",
        "zhaoquanyin": "f",
    }
    assert _hours(casia_real) == pytest.approx(0.635, abs=0.01)
