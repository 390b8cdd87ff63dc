#!/usr/bin/env bash
# Gradescope image setup (runs once when the autograder image is built, as root, with the zip in /autograder/source):
# Node 20, the metalab project and its build, tslab's dependencies, and an unprivileged user for student code.
set -euo pipefail
SOURCE="${METALAB_SOURCE:-/autograder/source}"

need_node=1
if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then need_node=0; fi
if ! command -v bwrap >/dev/null 2>&1; then
  apt-get update
  apt-get install -y bubblewrap # Every submission's kernel runs in a bubblewrap sandbox (docs/grading.md).
fi
if [ "$need_node" = 1 ]; then
  apt-get update
  apt-get install -y ca-certificates curl gnupg
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y nodejs
fi

cd "$SOURCE"
npm ci
npm run build
node scripts/link-self.cjs

# Student code runs as this user (see run_autograder); it must be able to read the project but not the assignment.
id -u student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin student
chmod -R a+rX "$SOURCE"
# The solution's check values, computed once here (not per submission); root-only like the notebook itself.
sandbox_flag=()
if [ "${METALAB_SANDBOX:-bubblewrap}" = "none" ]; then sandbox_flag=(--no-sandbox); fi
node dist/src/cli/metalab.js reference --instructor "$(ls "$SOURCE"/assignment/*.instructor.ipynb)" --out "$SOURCE/assignment" "${sandbox_flag[@]}"
chmod -R go-rwx "$SOURCE/assignment"
chmod 700 "$SOURCE/assignment"
chmod +x "$SOURCE/run_autograder" "$SOURCE/setup.sh"
