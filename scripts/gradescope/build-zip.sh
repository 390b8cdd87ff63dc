#!/usr/bin/env bash
# Builds a Gradescope autograder zip for one instructor notebook:
#   scripts/gradescope/build-zip.sh notebooks/instructor/02-maml-inner-loop.instructor.ipynb out/autograder.zip
# The zip holds setup.sh and run_autograder at its root, the metalab sources (built in setup.sh), and the
# instructor notebook under assignment/.
set -euo pipefail
instructor="$1"
zip_out="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$root/scripts/gradescope/setup.sh" "$root/scripts/gradescope/run_autograder" "$stage/"
cp -r "$root/package.json" "$root/package-lock.json" "$root/check.js" "$root/check.d.ts" "$root/tsconfig.json" "$root/tsconfig.build.json" "$root/src" "$stage/"
mkdir -p "$stage/scripts" "$stage/bench" "$stage/assignment"
cp "$root/scripts/link-self.cjs" "$stage/scripts/"
cp "$instructor" "$stage/assignment/"
mkdir -p "$(dirname "$zip_out")"
zip_abs="$(cd "$(dirname "$zip_out")" && pwd)/$(basename "$zip_out")"
rm -f "$zip_abs"
(cd "$stage" && python3 -m zipfile -c "$zip_abs" ./*)
echo "wrote $zip_abs"
