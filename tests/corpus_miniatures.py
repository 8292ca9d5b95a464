"""Synthetic miniatures of each corpus's documented layout, for the adapter tests.

Every builder writes a few 0.3 s tones under the real file-name pattern of its corpus (plus the
metadata files the adapter reads) and a few deliberately odd files that the adapter must report.
``ext`` picks the audio extension: ``".wav"``, ``".flac"``, or ``"mixed"`` (alternating, to check
that adapters ignore the extension). No corpus audio is committed; nothing here is real speech.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from synth import tone, write

__all__ = ["BUILDERS", "audio"]

_counter = itertools.count()


def audio(path: Path, ext: str = ".wav") -> Path:
    """Write a 0.3 s tone at ``path`` (its suffix replaced by ``ext``; ``mixed`` alternates wav/flac)."""
    n = next(_counter)
    if ext == "mixed":
        ext = (".wav", ".flac")[n % 2]
    # Distinct pitches so no two files are identical, in case a dedup by content is ever added.
    return write(path.parent / (path.name + ext), tone(200.0 + 7 * (n % 200), 0.3))


def _text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def make_ravdess(root: Path, ext: str = ".wav") -> Path:
    for name in (
        "Actor_01/03-01-05-01-01-01-01",
        "Actor_02/03-01-01-01-01-01-02",
        "Actor_02/03-01-03-02-02-02-02",
    ):
        audio(root / name, ext)
    audio(root / "Actor_01/01-01-05-01-01-01-01", ext)  # the same take extracted from the AV file
    audio(root / "Actor_01/notes", ext)  # odd name
    return root


def make_emodb(root: Path, ext: str = ".wav") -> Path:
    for name in ("03a01Fa", "08b02Wb", "16a05Tc"):
        audio(root / "wav" / name, ext)
    audio(root / "wav" / "xx", ext)
    return root


def make_emovo(root: Path, ext: str = ".wav") -> Path:
    for name in ("f1/dis-f1-b1", "f1/gio-f1-l2", "m2/rab-m2-n3", "m2/neu-m2-d1"):
        audio(root / name, ext)
    audio(root / "m2/rab-m1-b1", ext)  # actor field disagrees with the folder
    audio(root / "f1/readme", ext)
    return root


def make_turevdb(root: Path, ext: str = ".wav") -> Path:
    src = root / "Sound Source"
    for name in ("Angry/1157_kz_acik", "Sad/7895_hl_ogul1", "Calm/1234_sk_beste", "Happy/6783_mt_cay"):
        audio(src / name, ext)
    audio(src / "Angry/1234_hl_acik", ext)  # sad code in the Angry folder
    audio(src / "Happy/foo", ext)
    return root


def make_casia(root: Path, ext: str = ".wav") -> Path:
    for name in (
        "liuchanhg/angry/201",
        "wangzhe/fear/202",
        "ZhaoZuoxiang/surprise/250",
        "zhaoquanyin/neutral/203",
    ):
        audio(root / name, ext)
        _text(root / f"{name}.lab", "0 1000000 ni3\n")  # side files must be ignored
        _text(root / f"{name}.peak", "0,1600,ni3\n")
    _text(root / "transcripts_201-250.utf8.txt", "201. 就是下雨也去。\n")
    audio(root / "wangzhe/angry/notes", ext)
    audio(root / "wangzhe/bored/201", ext)
    return root


_IEMOCAP_EVAL = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\t{d}_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
A-E3:\tval 3; act 2; dom  2;\t()

[10.0100 - 11.3925]\t{d}_M001\tang\t[1.5000, 4.0000, 4.5000]

[14.8872 - 18.0175]\t{d}_F002\txxx\t[2.0000, 3.5000, 3.0000]

[20.0000 - 21.0000]\t{d}_M003\tfru\t[2.0000, 3.0000, 3.0000]
"""


def make_iemocap(root: Path, ext: str = ".wav") -> Path:
    base = root / "IEMOCAP_full_release"
    for session, dialog, utts, labels in (
        (1, "Ses01F_impro01", ("F000", "M001", "F002"), None),
        (2, "Ses02M_script01_1", ("M000", "F001"), ("exc", "hap")),
    ):
        for u in utts:
            audio(base / f"Session{session}/sentences/wav/{dialog}/{dialog}_{u}", ext)
        text = _IEMOCAP_EVAL.format(d=dialog)
        if labels:
            text = (
                f"[1.0000 - 2.5000]\t{dialog}_M000\t{labels[0]}\t[4.0000, 3.5000, 3.0000]\n\n"
                f"[3.0000 - 4.0000]\t{dialog}_F001\t{labels[1]}\t[4.5000, 3.0000, 2.5000]\n"
            )
        _text(base / f"Session{session}/dialog/EmoEvaluation/{dialog}.txt", text)
        _text(base / f"Session{session}/dialog/EmoEvaluation/Categorical/{dialog}_e1_cat.txt", "ignored\n")
    audio(base / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F009", ext)  # no EmoEvaluation line
    audio(base / "Session1/sentences/wav/Ses01F_impro01/junk", ext)
    return root


_MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
)


def make_meld(root: Path, ext: str = ".wav") -> Path:
    raw = root / "MELD.Raw"
    # train written in cp1252 with a Windows apostrophe, as in some copies
    _text(
        raw / "train_sent_emo.csv",
        _MELD_HEADER
        + "1,also I was the point person on my company\u2019s transition,Chandler,neutral,neutral,0,0,8,21,"
        '"00:16:16,059","00:16:21,731"\n'
        "2,You must\u2019ve had your hands full.,The Interviewer,joy,positive,0,1,8,21,"
        '"00:16:21,940","00:16:23,442"\n'
        '3,That I did.,Chandler,anger,negative,0,2,8,21,"00:16:23,442","00:16:26,389"\n',
        encoding="cp1252",
    )
    _text(raw / "dev_sent_emo.csv", _MELD_HEADER + "1,Oh my God!,Monica,surprise,positive,0,0,4,7,0,1\n")
    _text(raw / "test_sent_emo.csv", _MELD_HEADER + "1,Why?,Joey,sadness,negative,0,0,9,2,0,1\n")
    audio(raw / "train/train_splits/dia0_utt0", ext)
    audio(raw / "train/train_splits/dia0_utt1", ext)  # dia0_utt2 is listed but has no file
    audio(raw / "dev/dev_splits_complete/dia0_utt0", ext)
    audio(raw / "test/output_repeated_splits_test/dia0_utt0", ext)
    audio(raw / "test/output_repeated_splits_test/final_videos_testdia0_utt0", ext)  # odd name
    audio(raw / "train/train_splits/dia9_utt9", ext)  # no CSV row
    return root


def make_tess(root: Path, ext: str = ".wav") -> Path:
    top = root / "TESS Toronto emotional speech set data"
    for name in (
        "OAF_angry/OAF_back_angry",
        "OAF_Pleasant_surprise/OAF_back_ps",
        "YAF_pleasant_surprised/YAF_dog_ps",
        "OAF_neutral/OA_bite_neutral",
        "YAF_fear/YAF_dog_fear",
    ):
        audio(top / name, ext)
    audio(top / "YAF_fear/OAF_dog_fear", ext)  # speaker disagrees with the folder
    audio(top / "YAF_fear/YAF_dog_bored", ext)  # not a TESS emotion
    return root


def make_cremad(root: Path, ext: str = ".wav") -> Path:
    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_SAD_LO", "1091_WSI_NEU_XX"):
        audio(root / "AudioWAV" / name, ext)
    audio(root / "AudioWAV/1001_XYZ_ANG_XX", ext)  # unknown sentence code
    audio(root / "AudioWAV/0999_DFA_ANG_XX", ext)  # actor out of range
    _text(
        root / "VideoDemographics.csv",
        "ActorID,Age,Sex,Race,Ethnicity\n"
        "1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n",
    )
    return root


def make_savee(root: Path, ext: str = ".wav") -> Path:
    for name in ("AudioData/DC/a01", "AudioData/JE/sa02", "AudioData/KL/n30", "ALL/JK_su05"):
        audio(root / name, ext)
    _text(root / "AudioData/Info.txt", "SAVEE\n")
    audio(root / "ALL/DC_a01", ext)  # same take as AudioData/DC/a01
    audio(root / "AudioData/DC/x01", ext)
    return root


def make_urdu(root: Path, ext: str = ".wav") -> Path:
    for name in ("Angry/SM1_F1_A01", "Happy/SF2_F3_H10", "Neutral/SM1_F2_N05", "Sad/SM27_F1_S99"):
        audio(root / name, ext)
    audio(root / "Sad/SM1_F1_A02", ext)  # angry letter in the Sad folder
    audio(root / "Sad/recording", ext)
    return root


def make_nemo(root: Path, ext: str = ".wav") -> Path:
    _text(
        root / "data.tsv",
        "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n"
        "SB0_anger_0.wav\tanger\tDzień dobry!\tdzień dobry\tSB0\tmale\t24\n"
        "SB0_happiness_1.wav\thappiness\tDzień dobry!\tdzień dobry\tSB0\tmale\t24\n"
        "KL1_surprised_0.wav\tsurprised\tCo?\tco\tKL1\tfemale\t30\n"
        "KL1_fear_9.wav\tfear\tNie.\tnie\tKL1\tfemale\t30\n",
    )
    for name in ("SB0_anger_0", "SB0_happiness_1", "KL1_surprised_0"):  # KL1_fear_9 has no audio
        audio(root / "samples" / name, ext)
    audio(root / "samples/extra_take", ext)  # no data.tsv row
    return root


def make_chsims(root: Path, ext: str = ".wav") -> Path:
    _text(
        root / "label.csv",
        "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"
        "video_0001,1,我很高兴,0.8,1.0,0.6,0.8,Positive,train\n"
        "video_0001,2,还行吧,0.0,0.2,-0.2,0.0,Neutral,valid\n"
        "video_0002,1,太糟了,-0.6,-0.8,-0.4,-0.6,Negative,test\n"
        "video_0002,2,缺失,-0.2,-0.2,-0.2,-0.2,Negative,test\n",
    )
    for name in ("Raw/video_0001/0001", "Raw/video_0001/0002", "Raw/video_0002/0001"):
        audio(root / name, ext)
    audio(root / "Raw/video_0003/0001", ext)  # no label row
    return root


def make_mosi(root: Path, ext: str = ".wav") -> Path:
    _text(
        root / "label.csv",
        "video_id,clip_id,text,label,annotation,mode\n"
        "03bSnISJMiM,1,a lot of sad parts,-2.4,Negative,train\n"
        "03bSnISJMiM,2,but i liked it,1.8,Positive,valid\n"
        "_dI--eQ6qVU,1,it was okay,0.0,Neutral,test\n",
    )
    seg = root / "Audio/WAV_16000/Segmented"
    for name in ("03bSnISJMiM_1", "03bSnISJMiM_2", "_dI--eQ6qVU_1"):
        audio(seg / name, ext)
    audio(seg / "03bSnISJMiM_13", ext)  # no label row
    return root


def make_generic(root: Path, ext: str = ".wav") -> Path:
    for name in ("angry/a1", "Anger/a2", "neutral/n1", "pleasant/p1"):
        audio(root / name, ext)
    audio(root / "stray", ext)  # not inside a label folder
    return root


BUILDERS: dict[str, Callable[[Path, str], Path]] = {
    "ravdess": make_ravdess,
    "emodb": make_emodb,
    "emovo": make_emovo,
    "turev-db": make_turevdb,
    "casia": make_casia,
    "iemocap": make_iemocap,
    "meld": make_meld,
    "tess": make_tess,
    "crema-d": make_cremad,
    "savee": make_savee,
    "urdu": make_urdu,
    "nemo": make_nemo,
    "ch-sims": make_chsims,
    "cmu-mosi": make_mosi,
    "generic": make_generic,
}
