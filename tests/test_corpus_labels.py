"""Every raw code -> label pair of every corpus adapter, against tables typed here from each corpus's
documentation (the adapter's module docstring, docs/corpora.md and, for the five corpora in
../shared/corpora, their SOURCE.txt). The tables are deliberately NOT imported from the adapters:
swapping two codes in an adapter (RAVDESS 07/08, EmoDB L/E, ...) must fail here.

Each case writes a synthetic miniature under the corpus's real file-name pattern holding one file (or
metadata row) per raw code, prepares it like a user would, and checks every row's ``label`` and
``raw_label``. A file with a code the corpus does not have must be reported, not guessed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from serkit.data import prepare_corpus
from serkit.data.corpora import get_corpus, list_corpora

from corpus_miniatures import audio

# -- the documented tables ---------------------------------------------------------------------

# RAVDESS SOURCE.txt / docs: "EE = emotion: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry,
# 06 fearful, 07 disgust, 08 surprised"
RAVDESS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
# EmoDB SOURCE.txt: "W=anger (Wut), L=boredom (Langeweile), E=disgust (Ekel), A=fear (Angst),
# F=happiness (Freude), T=sadness (Trauer), N=neutral"
EMODB = {
    "W": "angry",
    "L": "bored",
    "E": "disgust",
    "A": "fearful",
    "F": "happy",
    "T": "sad",
    "N": "neutral",
}
# EMOVO SOURCE.txt: "dis=disgust (disgusto), gio=joy (gioia), neu=neutral, pau=fear (paura),
# rab=anger (rabbia), sor=surprise (sorpresa), tri=sadness (tristezza)"
EMOVO = {
    "dis": "disgust",
    "gio": "happy",
    "neu": "neutral",
    "pau": "fearful",
    "rab": "angry",
    "sor": "surprised",
    "tri": "sad",
}
# TurEV-DB SOURCE.txt: "kz = kızgın (Angry), sk = sakin (Calm), mt = mutlu (Happy), hl = hüzünlü (Sad)",
# the code always consistent with the <Emotion> folder.
TUREV = {"kz": ("Angry", "angry"), "sk": ("Calm", "calm"), "mt": ("Happy", "happy"), "hl": ("Sad", "sad")}
# CASIA SOURCE.txt: "<emotion>: angry | fear | happy | neutral | sad | surprise"
CASIA = {
    "angry": "angry",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprised",
}
# IEMOCAP docs/corpora.md: neu hap exc sad ang fru sur fea dis oth, and xxx (no majority) -> other.
IEMOCAP = {
    "neu": "neutral",
    "hap": "happy",
    "exc": "excited",
    "sad": "sad",
    "ang": "angry",
    "fru": "frustrated",
    "sur": "surprised",
    "fea": "fearful",
    "dis": "disgust",
    "oth": "other",
    "xxx": "other",
}
# MELD docs/corpora.md: the Emotion column.
MELD = {
    "neutral": "neutral",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "surprise": "surprised",
    "fear": "fearful",
    "disgust": "disgust",
}
# TESS docs/corpora.md: the <emo> of the file name; "ps" is pleasant surprise.
TESS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",
    "sad": "sad",
}
# TESS folders as released (mixed case; "pleasant_surprise(d)" spelled two ways).
TESS_FOLDERS = {
    "OAF": {
        "angry": "OAF_angry",
        "disgust": "OAF_disgust",
        "fear": "OAF_Fear",
        "happy": "OAF_happy",
        "neutral": "OAF_neutral",
        "ps": "OAF_Pleasant_surprise",
        "sad": "OAF_Sad",
    },
    "YAF": {
        "angry": "YAF_angry",
        "disgust": "YAF_disgust",
        "fear": "YAF_fear",
        "happy": "YAF_happy",
        "neutral": "YAF_neutral",
        "ps": "YAF_pleasant_surprised",
        "sad": "YAF_sad",
    },
}
# CREMA-D docs/corpora.md: "ANG anger, DIS disgust, FEA fear, HAP happy, NEU neutral, SAD sad";
# levels "LO low, MD medium, HI high, XX unspecified".
CREMAD = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
# SAVEE docs/corpora.md: "a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise"
SAVEE = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}
# URDU docs/corpora.md: "A angry, H happy, N neutral, S sad", agreeing with the <Emotion> folder.
URDU = {"A": ("Angry", "angry"), "H": ("Happy", "happy"), "N": ("Neutral", "neutral"), "S": ("Sad", "sad")}
# nEMO docs/corpora.md: the data.tsv emotion column.
NEMO = {
    "anger": "angry",
    "fear": "fearful",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "surprised": "surprised",
}
# CH-SIMS / CMU-MOSI docs/corpora.md: label = polarity of the score (negative < 0, neutral = 0,
# positive > 0); split = mode with valid -> dev.
CHSIMS_SCORES = {
    "-1.0": "negative",
    "-0.2": "negative",
    "0.0": "neutral",
    "-0.0": "neutral",
    "0.4": "positive",
    "1.0": "positive",
}
MOSI_SCORES = {
    "-3.0": "negative",
    "-0.2": "negative",
    "0.0": "neutral",
    "0.6": "positive",
    "2.8": "positive",
    "3.0": "positive",
}
SPLITS = {"train": "train", "valid": "dev", "test": "test"}
# generic docs/corpora.md: label_map first (example wut=angry,freude=happy), then canonical names
# (the 13 of docs/corpora.md, any case) and synonyms (anger -> angry); unknown names kept lower-cased.
GENERIC = {
    "neutral": "neutral",
    "calm": "calm",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fearful",
    "disgust": "disgust",
    "surprised": "surprised",
    "bored": "bored",
    "excited": "excited",
    "frustrated": "frustrated",
    "contempt": "contempt",
    "other": "other",
    "Anger": "angry",
    "happiness": "happy",
    "sadness": "sad",
    "fear": "fearful",
    "surprise": "surprised",
    "boredom": "bored",
    "Pleasant": "pleasant",
    "wut": "angry",
    "freude": "happy",
}
GENERIC_LABEL_MAP = "wut=angry,freude=happy"


# -- miniatures: one file (or metadata row) per raw code -----------------------------------------
# Each builder returns {path relative to root, without extension: (raw_label, label, extras)} and
# the relative paths of files that must be reported as unmatched.

Expected = dict[str, tuple[str, str, dict]]


def _text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _add(root: Path, expected: Expected, rel: str, raw: str, label: str, **extras) -> None:
    audio(root / rel)
    expected[rel] = (raw, label, extras)


def build_ravdess(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, label in RAVDESS.items():
        _add(root, expected, f"Actor_01/03-01-{code}-01-01-01-01", code, label, intensity="normal")
        _add(root, expected, f"Actor_24/03-01-{code}-02-02-02-24", code, label, intensity="strong")
        _add(root, expected, f"Actor_07/03-02-{code}-01-02-01-07", code, label, vocal_channel="song")
    audio(root / "Actor_01/03-01-09-01-01-01-01")
    return expected, ["Actor_01/03-01-09-01-01-01-01"]


def build_emodb(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, label in EMODB.items():
        _add(root, expected, f"wav/03a01{code}a", code, label)
        _add(root, expected, f"wav/16b10{code}c", code, label)
    audio(root / "wav/03a01Xa")
    return expected, ["wav/03a01Xa"]


def build_emovo(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, label in EMOVO.items():
        _add(root, expected, f"f1/{code}-f1-b1", code, label)
        _add(root, expected, f"m3/{code}-m3-d2", code, label)
    audio(root / "f1/ans-f1-b1")
    return expected, ["f1/ans-f1-b1"]


def build_turevdb(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, (folder, label) in TUREV.items():
        _add(root, expected, f"Sound Source/{folder}/1234_{code}_acik", code, label)
        _add(root, expected, f"Sound Source/{folder}/7895_{code}_ogul1", code, label)
    audio(root / "Sound Source/Angry/1234_xx_acik")
    return expected, ["Sound Source/Angry/1234_xx_acik"]


def build_casia(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for folder, label in CASIA.items():
        _add(root, expected, f"liuchanhg/{folder}/201", folder, label)
        _add(root, expected, f"ZhaoZuoxiang/{folder}/250", folder, label)
    audio(root / "wangzhe/bored/201")
    return expected, ["wangzhe/bored/201"]


def build_iemocap(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    base = "IEMOCAP_full_release/Session1"
    dialog = "Ses01F_impro01"
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for i, (code, label) in enumerate(IEMOCAP.items()):
        utt = f"{dialog}_{'FM'[i % 2]}{i:03d}"
        _add(root, expected, f"{base}/sentences/wav/{dialog}/{utt}", code, label)
        lines += [f"[{i}.0000 - {i}.5000]\t{utt}\t{code}\t[2.5000, 3.0000, 3.5000]", ""]
    _text(root / f"{base}/dialog/EmoEvaluation/{dialog}.txt", "\n".join(lines))
    return expected, []


def build_meld(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    rows = [
        "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
    ]
    for i, (code, label) in enumerate(MELD.items()):
        rows.append(f"{i + 1},Line {i}.,Chandler,{code},neutral,0,{i},1,1,0,1")
        _add(root, expected, f"MELD.Raw/train/train_splits/dia0_utt{i}", code, label, split="train")
    _text(root / "MELD.Raw/train_sent_emo.csv", "\n".join(rows) + "\n")
    return expected, []


def build_tess(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for speaker, folders in TESS_FOLDERS.items():
        for code, label in TESS.items():
            _add(root, expected, f"{folders[code]}/{speaker}_back_{code}", code, label)
    audio(root / "YAF_fear/YAF_dog_bored")
    return expected, ["YAF_fear/YAF_dog_bored"]


def build_cremad(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for (code, label), (level, intensity) in zip(
        CREMAD.items(), [*CREMAD_LEVELS.items(), *CREMAD_LEVELS.items()], strict=False
    ):
        _add(root, expected, f"AudioWAV/1001_DFA_{code}_{level}", code, label, intensity=intensity)
        _add(root, expected, f"AudioWAV/1091_WSI_{code}_XX", code, label, intensity="unspecified")
    audio(root / "AudioWAV/1001_DFA_CAL_XX")
    return expected, ["AudioWAV/1001_DFA_CAL_XX"]


def build_savee(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, label in SAVEE.items():
        _add(root, expected, f"AudioData/DC/{code}01", code, label)
        _add(root, expected, f"ALL/KL_{code}15", code, label)
    audio(root / "AudioData/DC/x01")
    return expected, ["AudioData/DC/x01"]


def build_urdu(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for code, (folder, label) in URDU.items():
        _add(root, expected, f"{folder}/SM1_F1_{code}01", code, label)
        _add(root, expected, f"{folder}/SF12_F30_{code}99", code, label)
    audio(root / "Sad/SM1_F1_X01")
    return expected, ["Sad/SM1_F1_X01"]


def build_nemo(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    rows = ["file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage"]
    for i, (code, label) in enumerate(NEMO.items()):
        rows.append(f"SB0_{code}_{i}.wav\t{code}\tTak.\ttak\tSB0\tmale\t24")
        _add(root, expected, f"samples/SB0_{code}_{i}", code, label)
    _text(root / "data.tsv", "\n".join(rows) + "\n")
    return expected, []


def _mmsa_rows(scores: dict[str, str], extra_header: str = "", extra: str = "") -> tuple[list[str], list]:
    rows = [f"video_id,clip_id,text,label,{extra_header}annotation,mode"]
    modes = list(SPLITS)
    cases = []
    for i, (score, label) in enumerate(scores.items()):
        mode = modes[i % len(modes)]
        rows.append(f"vid_{i // 3},{i % 3 + 1},clip {i},{score},{extra}{label.title()},{mode}")
        cases.append((f"vid_{i // 3}", i % 3 + 1, score, label, SPLITS[mode]))
    return rows, cases


def build_chsims(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    rows, cases = _mmsa_rows(CHSIMS_SCORES, "label_T,label_A,label_V,", "0.0,0.0,0.0,")
    for video, clip, score, label, split in cases:
        _add(root, expected, f"Raw/{video}/{clip:04d}", score, label, split=split, score=float(score))
    _text(root / "label.csv", "\n".join(rows) + "\n")
    return expected, []


def build_mosi(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    rows, cases = _mmsa_rows(MOSI_SCORES)
    for video, clip, score, label, split in cases:
        rel = f"Audio/WAV_16000/Segmented/{video}_{clip}"
        _add(root, expected, rel, score, label, split=split, score=float(score))
    _text(root / "label.csv", "\n".join(rows) + "\n")
    return expected, []


def build_generic(root: Path) -> tuple[Expected, list[str]]:
    expected: Expected = {}
    for i, (folder, label) in enumerate(GENERIC.items()):
        _add(root, expected, f"spk{i % 3}/{folder}/take{i}", folder, label, speaker=f"spk{i % 3}")
    audio(root / "stray")
    return expected, ["stray"]


BUILDERS: dict[str, tuple[Callable[[Path], tuple[Expected, list[str]]], dict]] = {
    "ravdess": (build_ravdess, {}),
    "emodb": (build_emodb, {}),
    "emovo": (build_emovo, {}),
    "turev-db": (build_turevdb, {}),
    "casia": (build_casia, {}),
    "iemocap": (build_iemocap, {}),
    "meld": (build_meld, {}),
    "tess": (build_tess, {}),
    "crema-d": (build_cremad, {}),
    "savee": (build_savee, {}),
    "urdu": (build_urdu, {}),
    "nemo": (build_nemo, {}),
    "ch-sims": (build_chsims, {}),
    "cmu-mosi": (build_mosi, {}),
    "generic": (build_generic, {"speaker_folders": True, "label_map": GENERIC_LABEL_MAP}),
}

# The raw codes each adapter should know: its ``labels`` table must hold exactly these, so a code
# added to an adapter without a documented expectation here fails too.
KNOWN_CODES: dict[str, set[str]] = {
    "ravdess": set(RAVDESS),
    "emodb": set(EMODB),
    "emovo": set(EMOVO),
    "turev-db": set(TUREV),
    "casia": set(CASIA),
    "iemocap": set(IEMOCAP),
    "meld": set(MELD),
    "tess": set(TESS) | {"pleasant_surprise", "pleasant_surprised"},  # the folder spellings
    "crema-d": set(CREMAD),
    "savee": set(SAVEE),
    "urdu": set(URDU),
    "nemo": set(NEMO),
    "ch-sims": {"negative", "neutral", "positive"},
    "cmu-mosi": {"negative", "neutral", "positive"},
}


def test_every_registered_adapter_has_a_table():
    assert set(BUILDERS) == set(list_corpora())


@pytest.mark.parametrize("name", sorted(KNOWN_CODES))
def test_adapter_knows_exactly_the_documented_codes(name):
    assert set(get_corpus(name).labels) == KNOWN_CODES[name]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_raw_code_maps_to_its_documented_label(name, tmp_path):
    build, options = BUILDERS[name]
    root = tmp_path / name
    expected, bogus = build(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unexpected warning hides a fallback
        report = prepare_corpus(get_corpus(name, **options), root, workers=1)
    base = root.resolve()
    rows = {
        Path(r["path"]).resolve().relative_to(base).with_suffix("").as_posix(): r
        for r in report.manifest.to_dict("records")
    }
    assert sorted(rows) == sorted(expected), "every file is a row (and only those)"
    wrong = {}
    for rel, (raw, label, extras) in expected.items():
        got = {"raw_label": rows[rel]["raw_label"], "label": rows[rel]["label"]}
        got |= {k: rows[rel][k] for k in extras}
        want = {"raw_label": raw, "label": label, **extras}
        if got != want:
            wrong[rel] = (got, want)
    assert not wrong, f"(got, documented) per file: {wrong}"
    reported = {
        Path(p.path).resolve().relative_to(base).with_suffix("").as_posix()
        for p in report.problems
        if p.kind == "unmatched"
    }
    assert reported == set(bogus), "an unknown code is reported, never guessed"
