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
