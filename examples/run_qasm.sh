#!/usr/bin/env sh
# Run an OpenQASM file from the shell on the embedded default (or on $QRELAY_URL).
#   sh examples/run_qasm.sh            # counts
#   sh examples/run_qasm.sh --json     # the same as JSON
set -eu
here=$(dirname "$0")
exec qrelay run "$here/bell.qasm" --target aer_simulator --shots 1000 "$@"
