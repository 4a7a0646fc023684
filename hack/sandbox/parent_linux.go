package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// stopWithParent asks the kernel for SIGTERM when our parent (make, a shell) dies, so that the
// sandbox shuts down in order even when its parent is killed outright.
func stopWithParent() { _ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0) }
