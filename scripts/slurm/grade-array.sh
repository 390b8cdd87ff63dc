#!/bin/bash
#SBATCH --job-name=metalab-grade
#SBATCH --cpus-per-task=1
#SBATCH --mem=3G
#SBATCH --time=00:15:00
# One Slurm array task grades one entry of the submissions folder into a shared output folder (docs/grading.md §4).
# The entries are the ones `metalab grade` lists (*.ipynb of any type, folders, symlinks), sorted bytewise, so
# task i always grades the same entry and `metalab grade --resume` afterwards collects every result.
#
#   export METALAB=/path/to/metalab INSTRUCTOR=a.instructor.ipynb SUBMISSIONS=submissions OUT=/shared/out
#   n=$(scripts/slurm/grade-array.sh --count)                                # how many array tasks
#   node "$METALAB/dist/src/cli/metalab.js" reference --instructor "$INSTRUCTOR" --out "$OUT"   # once, before
#   sbatch --wait --array=0-$((n - 1)) --export=ALL scripts/slurm/grade-array.sh
#   node "$METALAB/dist/src/cli/metalab.js" grade --instructor "$INSTRUCTOR" --submissions "$SUBMISSIONS" --out "$OUT" --resume
#
# Extra flags for grade-one (the same limits as the final `grade --resume`): METALAB_GRADE_ARGS="--cell-timeout 60".
set -euo pipefail
: "${SUBMISSIONS:?set SUBMISSIONS to the submissions folder}"
entries=()
while IFS= read -r -d '' e; do entries+=("$e"); done < <(
  cd "$SUBMISSIONS" && find . -mindepth 1 -maxdepth 1 \( -iname '*.ipynb' -o -type d -o -type l \) -printf '%f\0' | LC_ALL=C sort -z
)
if [ "${1:-}" = "--count" ]; then
  echo "${#entries[@]}"
  exit 0
fi
: "${METALAB:?set METALAB to the metalab checkout (built)}" "${INSTRUCTOR:?set INSTRUCTOR}" "${OUT:?set OUT}"
: "${SLURM_ARRAY_TASK_ID:?run this as a Slurm array job (sbatch --array=0-N)}"
entry="${entries[$SLURM_ARRAY_TASK_ID]:?no entry $SLURM_ARRAY_TASK_ID in $SUBMISSIONS}"
# shellcheck disable=SC2086 # word splitting of extra flags is intended
exec node "$METALAB/dist/src/cli/metalab.js" grade-one --instructor "$INSTRUCTOR" --submission "$SUBMISSIONS/$entry" --out "$OUT" ${METALAB_GRADE_ARGS:-}
