package testcluster

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the kernel kill cmd when the process that started it dies, however it
// dies: a killed test or sandbox leaves no etcd, kube-apiserver or Prometheus behind.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
