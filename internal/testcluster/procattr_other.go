//go:build !linux

package testcluster

import "os/exec"

// DieWithParent is a no-op where the kernel offers no parent-death signal; Stop still ends
// the components on every orderly exit.
func DieWithParent(cmd *exec.Cmd) {}
