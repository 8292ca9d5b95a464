#!/bin/bash
# Run benchmark rows on a borrowed GPU machine, for a fixed time, and pack the result files to bring back.
#
# Why: the Bi-GRU + MHA and DRSN families cost 5-30 min per fold on 2 CPU cores and 2-30 s on one H200
# (measured 2026-11-28: 120 EmoDB jobs in 349 s, 90 EMOVO jobs in 233 s, 8 workers). `--device` is a
# runtime setting, so rows finished there merge with (and resume) the CPU rows; each fold records its device.
#
# Run from the repository root on the GPU machine, after copying there:
#   .devdata/<corpus>/   the corpus folder (e.g. cp -r ../shared/corpora/emovo .devdata/). One call carries
#                        at most 64 MiB, so RAVDESS and CASIA (about 52 MiB each, plus the repository) go in
#                        two calls on the warm machine: the first carries .devdata/<corpus> with half the
#                        speaker folders and SOURCE.txt, the second .devdata/<corpus>.part2 with the rest
#                        (ignored paths a call does not name stay there); this script merges the parts.
#   .devdata/git/        optional: `git clone --depth 1 --bare file://$PWD .devdata/git`, so that results
#                        record the commit (a copied tree has no .git)
#   .whl/                optional: wheels of serkit's dependencies the machine lacks (pydantic, soundfile,
#                        soxr, PyWavelets, ...), for its Python
# Environment: CORPUS (required), SYSTEMS (comma-separated; default: the heavy from-scratch systems),
# BUDGET (seconds for the whole script, default 500), WORKERS (default 8), OUT (where results.tgz goes).
# Bring back results.tgz and unpack it in the repository root: it holds benchmarks/results/.../<corpus>/.
set -u
T0=$(date +%s)
: "${CORPUS:?set CORPUS, e.g. CORPUS=emovo}"
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
fi
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 SERKIT_CACHE_DIR=${SERKIT_CACHE_DIR:-/tmp/cache}
if [ -d .devdata/git ]; then
  export GIT_DIR=$PWD/.devdata/git GIT_WORK_TREE=$PWD
  git config core.bare false && git reset -q  # an index, so that `git status` sees a clean tree
fi
python3 -c "import torch, serkit; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 4
HEAVY=bigru_mha,bigru_mha_cnn,bigru_mha_lstm,bigru_mha_rnn,bigru_mha_cnn_lstm,bigru_mha_bigru,bigru_mha_self_attention
HEAVY=$HEAVY,bigru_mha_bigru_self_attention,bigru_mha_mha,drsn_bigru,drn_bigru,dcnn_lstm,cnn_bilstm,conv_autoencoder,mfcc_rnn
for part in .devdata/"$CORPUS".part*; do  # a corpus sent in parts, merged by hard links
  [ -d "$part" ] && cp -rl "$part"/. ".devdata/$CORPUS"/ && rm -rf "$part"
done
rm -rf benchmarks/work/manifests  # a manifest left by an earlier call on another copy of the corpus
LEFT=$(( ${BUDGET:-500} - ($(date +%s) - T0) - 15 ))
# SIGINT: the runner stops its workers and keeps every finished fold
timeout -s INT -k 20 "$LEFT" python3 -c "from serkit.cli import main; main()" benchmark \
  --corpus "$CORPUS=.devdata/$CORPUS" --corpora "$CORPUS" --protocol "${PROTOCOL:-si}" \
  --systems "${SYSTEMS:-$HEAVY}" --device cuda --workers "${WORKERS:-8}" --no-table -q >"$OUT/bench.log" 2>&1
echo "benchmark rc $? after $(( $(date +%s) - T0 )) s"
tail -5 "$OUT/bench.log"
tar czf "$OUT/results.tgz" benchmarks/results/benchmark/*/"$CORPUS"
