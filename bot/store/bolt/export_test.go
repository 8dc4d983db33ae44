package bolt

// SetSweepBatch makes sweeps work in batches of n and returns a func restoring the default.
// Not for tests running in parallel.
func SetSweepBatch(n int) (restore func()) {
	old := sweepBatch
	sweepBatch = n
	return func() { sweepBatch = old }
}
