# step "what the user reads" command...: one progress line, the command's output into $LOG, and on failure
# the log's name and last lines on stderr and exit 1. Sourced by setup.sh and wheel_check.sh, which set
# STEP_PREFIX, LOG and STEP_LOG_NOTE first (and `start`, for the elapsed seconds when STEP_CLOCK=1).
step() {
  if [ "${STEP_CLOCK:-0}" = 1 ]; then
    echo "$STEP_PREFIX: [$(($(date +%s) - start)) s] $1"
  else
    echo "$STEP_PREFIX: $1"
  fi
  shift
  if ! "$@" >>"$LOG" 2>&1; then
    echo "$STEP_PREFIX: FAILED: $*" >&2
    echo "$STEP_PREFIX: $STEP_LOG_NOTE; its last lines:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}
