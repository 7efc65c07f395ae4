#!/bin/bash
# The device suite: what a session with an NVIDIA H100 / H200 records, as JSON under $OUT, in at most
# 8 minutes (each step has its own time limit; a step that fails or runs out is recorded and the
# suite goes on, exiting non-zero at the end).
#
#   1. info.json         `camels-gpu info --json`; the suite stops unless the adapter is NVIDIA through
#                        Vulkan (an NVIDIA GPU reached through OpenGL ES, or a software adapter, would
#                        give numbers that look like a GPU run and are not one).
#   2. kernels.jsonl     `bench kernels`: matmul 256..4096 (TFLOP/s), softmax / layerNorm bandwidth,
#                        attention T = 256 and 1024.
#   3. matmul-gpt2.jsonl `bench kernels --op matmul_gpt2`: the GPT-2 small products at 2048 tokens
#                        (2048x768x2304 / 768 / 3072, K = 3072, the 50257-wide LM head and its dX,
#                        transposed weight gradients).
#   4. model-gpt2.jsonl, model-distilgpt2.jsonl
#                        `bench model` train and CaMeLS meta steps at batch 8 x 256: ms, tokens/s,
#                        peak memory and the device-independent counts (kernels, dispatches, bind
#                        groups, uploads, readbacks).
#   5. reference.jsonl   `bench reference`: the reference-default meta-training outer step
#                        (DistilGPT-2 base and weight model, 6 documents x 1024 tokens, 6 sequential
#                        second-order SGD steps, QA 6x128, KL 1x1024, Adam on the weight model) and
#                        one GPT-2 XL online-adaptation step on a 1024-token document, with peak memory
#                        (anchors 513 ms / 32.5 GiB and 319 ms / 30.2 GiB, PyTorch eager fp32, H200).
#   suite.json           one line per step: name, exit status, seconds, output file.
#
# On the development machine, after `npm ci` and `npm run build`:
#     bash ../shared/device/pack.sh dist         # .gpu/ with node, the Vulkan loader, node_modules, dist
# then on the device machine (the run tool, carry [".gpu"]; dist travels inside .gpu):
#     bash .gpu/run.sh bash bench/device-suite.sh
# Without a GPU the non-GPU parts (arguments, steps, JSON paths) run with small cases:
#     OUT=/tmp/suite bash bench/device-suite.sh --allow-software --quick
set -uo pipefail

allow_software=0
quick=0
budget=480
for arg in "$@"; do
  case "$arg" in
    --allow-software) allow_software=1 ;;
    --quick) quick=1 ;;
    --budget=*) budget="${arg#--budget=}" ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "device-suite: unknown argument '$arg' (--allow-software, --quick, --budget=SECONDS)" >&2; exit 2 ;;
  esac
done
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "device-suite: --budget must be whole seconds, got '$budget'" >&2; exit 2; }

: "${OUT:?device-suite: set OUT to the folder for the JSON results}"
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
[ -f dist/cli/main.js ] || { echo "device-suite: dist/cli/main.js is missing; run npm run build (and pack dist)" >&2; exit 2; }
command -v node >/dev/null || { echo "device-suite: node is not on PATH; run through bash .gpu/run.sh" >&2; exit 2; }
cli=(node dist/cli/main.js)
start=$(date +%s)
failed=0
: > "$OUT/suite.json"

# step NAME LIMIT_SECONDS OUTFILE COMMAND...: runs COMMAND with its stdout in $OUT/OUTFILE, within
# LIMIT_SECONDS and what is left of the budget; records the step in suite.json.
step() {
  local name=$1 limit=$2 file=$3
  shift 3
  local left=$((budget - ($(date +%s) - start)))
  if [ "$left" -lt 10 ]; then
    echo "device-suite: $name skipped, the ${budget}s budget is spent" >&2
    printf '{"step":"%s","status":"skipped","seconds":0,"file":null}\n' "$name" >> "$OUT/suite.json"
    failed=1
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0 rc
  t0=$(date +%s)
  echo "device-suite: $name (limit ${limit}s)" >&2
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$file" 2> "$OUT/${file%.*}.log"
  rc=$?
  printf '{"step":"%s","status":%d,"seconds":%d,"file":"%s"}\n' "$name" "$rc" "$(($(date +%s) - t0))" "$file" >> "$OUT/suite.json"
  if [ "$rc" -ne 0 ]; then
    echo "device-suite: $name failed (status $rc; timeout is 124); see $OUT/${file%.*}.log" >&2
    failed=1
  fi
  return "$rc"
}

# 1. The adapter: NVIDIA through Vulkan, or stop.
export CAMELS_WEBGPU_BACKEND="${CAMELS_WEBGPU_BACKEND:-vulkan}"
[ "$allow_software" = 1 ] && unset CAMELS_WEBGPU_BACKEND
step info 60 info.json "${cli[@]}" info --device webgpu --json || { echo "device-suite: no WebGPU adapter" >&2; exit 1; }
check=$(node -e '
  const info = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const w = info.webgpu;
  if (!w) { console.log("no-adapter"); process.exit(0); }
  const text = [w.vendor, w.device, w.description, w.adapter].join(" ");
  const nvidia = /nvidia/i.test(text) || w.vendor === "0x10de";
  const software = /llvmpipe|lavapipe|softpipe|swiftshader/i.test(text) || w.isFallbackAdapter;
  console.log(nvidia ? (w.backend === "vulkan" ? "nvidia-vulkan" : "nvidia-" + w.backend) : software ? "software" : "other-" + w.backend);
' "$OUT/info.json")
echo "device-suite: adapter check: $check" >&2
case "$check" in
  nvidia-vulkan) ;;
  nvidia-*) echo "device-suite: an NVIDIA adapter was reached through '${check#nvidia-}', not Vulkan; refusing to measure" >&2; exit 1 ;;
  software) [ "$allow_software" = 1 ] || { echo "device-suite: only a software adapter was found (pass --allow-software to test the suite itself)" >&2; exit 1; } ;;
  *) [ "$allow_software" = 1 ] || { echo "device-suite: adapter is '$check', not NVIDIA through Vulkan" >&2; exit 1; } ;;
esac

if [ "$quick" = 1 ]; then
  # The suite's own check on a software adapter: the same steps and files, small cases.
  step kernels 120 kernels.jsonl "${cli[@]}" bench kernels --device webgpu --json --op matmul --size 256 --repeat 2
  step model-tiny 180 model-tiny.jsonl "${cli[@]}" bench model --device webgpu --json --config tiny --batch 2 --seq 16 --repeat 1 --warmup 2
  step reference-outer 180 reference-outer.jsonl "${cli[@]}" bench reference --device webgpu --json --quick --only outer --repeat 1 --warmup 1
  step reference-adapt 120 reference-adapt.jsonl "${cli[@]}" bench reference --device webgpu --json --quick --only adapt --repeat 1 --warmup 1
else
  step kernels 80 kernels.jsonl "${cli[@]}" bench kernels --device webgpu --json --repeat 5
  step matmul-gpt2 50 matmul-gpt2.jsonl "${cli[@]}" bench kernels --device webgpu --json --op matmul_gpt2 --repeat 5
  step model-gpt2 100 model-gpt2.jsonl "${cli[@]}" bench model --device webgpu --json --config gpt2 --batch 8 --seq 256 --repeat 5 --warmup 2
  step model-distilgpt2 70 model-distilgpt2.jsonl "${cli[@]}" bench model --device webgpu --json --config distilgpt2 --batch 8 --seq 256 --repeat 5 --warmup 2
  # GPT-2 XL's 1.56 B random weights are drawn on the host first (tens of seconds), hence the longer limit.
  step reference-outer 70 reference-outer.jsonl "${cli[@]}" bench reference --device webgpu --json --only outer --repeat 3 --warmup 1
  step reference-adapt 100 reference-adapt.jsonl "${cli[@]}" bench reference --device webgpu --json --only adapt --repeat 3 --warmup 1
fi

# Every result line must be JSON (a crash mid-line shows here, not in a later reading).
for f in "$OUT"/*.jsonl; do
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.trim());
    for (const l of lines) JSON.parse(l);
    if (lines.length === 0) { console.error(process.argv[1] + ": no results"); process.exit(1); }
  ' "$f" || { echo "device-suite: $f is not JSON lines" >&2; failed=1; }
done
echo "device-suite: done in $(($(date +%s) - start))s; results in $OUT" >&2
exit "$failed"
