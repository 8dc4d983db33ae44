package storetest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the redis-server if the test binary dies without its cleanups (a test
// timeout, a signal), so no server outlives the tests.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
