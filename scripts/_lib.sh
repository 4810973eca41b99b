# Shared by scripts/asterisk, scripts/redis and scripts/stack (sourced, not run).

close_inherited_fds() {
    # A daemon must not keep its caller's descriptors open (a `flock` lock held by a test run would never be
    # released while the daemon lives): close every descriptor above 2 in the current (sub)shell.
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

load_secrets() {
    # Secrets come from the environment or the untracked .secrets.env; the demo defaults below only ever
    # protect services bound to 127.0.0.1 (set real ones in production: docs/operations.md).
    if [ -f .secrets.env ]; then set -a; . ./.secrets.env; set +a; fi
    export CALLCONTROL_ARI_PASSWORD=${CALLCONTROL_ARI_PASSWORD:-callcontrol-demo}
    export CALLCONTROL_AMI_PASSWORD=${CALLCONTROL_AMI_PASSWORD:-callcontrol-ami-demo}
    export CALLCONTROL_API_TOKENS=${CALLCONTROL_API_TOKENS:-viewer:demo-viewer-token-0001,switchboard:demo-switchboard-token-01,supervisor:demo-supervisor-token-001}
}
