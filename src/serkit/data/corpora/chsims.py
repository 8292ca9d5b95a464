"""CH-SIMS: Chinese multimodal sentiment analysis dataset with unimodal labels (Yu et al., ACL 2020).

Layout of the release (MMSA / ``thuiar`` distribution)::

    label.csv                     columns video_id, clip_id, text, label, label_T, label_A, label_V,
                                  annotation, mode
    Raw/<video_id>/<clip_id>.mp4  e.g. Raw/video_0001/0001.mp4 (or .wav/.flac with the same stems;
                                  clip ids match numerically, so ``1`` in label.csv finds ``0001``)

      label              multimodal sentiment score in [-1, 1] -> ``score`` (task: regression);
                         ``label`` is its polarity (negative < 0, neutral = 0, positive > 0)
      label_T/_A/_V      unimodal scores -> ``score_text``, ``score_audio``, ``score_vision``
      annotation         Negative | Neutral | Positive, kept as ``annotation``
      mode               train | valid | test -> ``split`` (``valid`` written ``dev``)

2281 clips from 60 videos (films and TV series). The speakers are NOT identified in the release, so
``speaker`` is the video id, a speaker-GROUP PROXY: one video can hold several speakers and one
actor can appear in several videos, so video-disjoint splits are not guaranteed speaker-independent.
The official protocol is the ``split`` column. Files without a label.csv row are reported, and so
are rows without audio.
"""

from __future__ import annotations

from pathlib import Path

from serkit.data.corpora.base import Corpus, ScanResult, register_corpus
from serkit.data.corpora.mosi import SENTIMENT_LABELS, scan_mmsa


@register_corpus
class ChSims(Corpus):
    name = "ch-sims"
    title = "CH-SIMS (Chinese single- and multimodal sentiment)"
    language = "zh"
    citation = (
        "W. Yu, H. Xu, F. Meng, Y. Zhu, Y. Ma, J. Wu, J. Zou, K. Yang (2020). CH-SIMS: A Chinese Multimodal "
        "Sentiment Analysis Dataset with Fine-grained Annotation of Modality. Proc. ACL 2020, pp. 3718-3727."
    )
    licence = "research use only (access on request from the authors)"
    layout = (
        "label.csv (video_id, clip_id, text, label, label_T, label_A, label_V, annotation, mode) "
        "+ Raw/<video_id>/<clip_id>.mp4"
    )
    labels = SENTIMENT_LABELS
    task = "regression"

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        return scan_mmsa(
            self,
            root,
            score_range=(-1.0, 1.0),
            extra_scores={"label_T": "score_text", "label_A": "score_audio", "label_V": "score_vision"},
            allow_segmented=False,
        )
