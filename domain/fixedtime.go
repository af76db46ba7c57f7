package domain

// timedDelay says whether a trigger fires a fixed delay after another one:
// operate, 24 h after the production deployment (see OperateAt).
func timedDelay(t Trigger) (after Trigger, delayMicros int64, ok bool) {
	if t == TrigOperate {
		return TrigDeployProd, OperateAfter.Microseconds(), true
	}
	return 0, 0, false
}

// stageTimes is how long an item stayed in each stage it has left, in
// Unix µs (left[i] says it left stage i), with the waits by design where
// they belong.
//
// A fixed-time stage entered through a timed trigger waited that trigger's
// delay by design: the 24 h soak from the production deployment to Operate
// is Operate's wait, not work in the stage before it (Deploy, which is
// active by default). So the part of each earlier stage's stay that falls
// inside [base, base + delay) — base being the trigger it counts from — is
// moved to the fixed-time stage. Only the delay moves: when an incident
// holds Operate past the 24 h, that extra time stays in the stage before,
// as the time it took to make the deployment safe. A stage that is not
// marked fixed-time keeps the soak in the stage before, as the editor chose.
func (v *ValueStream) stageTimes(it *FlowItem, j *Journey) (d [MaxStages]int64, left [MaxStages]bool) {
	n := len(v.Stages)
	var exit [MaxStages]int64
	for i := 0; i < n; i++ {
		if j.Entered[i] == 0 {
			continue
		}
		if x := j.Exit(i, n); x != 0 {
			exit[i], d[i], left[i] = x, x-j.Entered[i], true
		}
	}
	for k := 0; k < n; k++ {
		// Entered as its own evidence says: not pulled earlier by a later
		// stage's evidence, which would make the soak meaningless.
		if !v.Stages[k].FixedTime || j.Entered[k] == 0 || j.Entered[k] != j.Raw[k] {
			continue
		}
		for _, t := range v.Stages[k].Rule {
			after, delay, ok := timedDelay(t)
			base := it.Signals[after]
			if !ok || base == 0 || it.Signals[t] != j.Raw[k] {
				continue
			}
			lo, hi := base, min(base+delay, j.Entered[k])
			for i := 0; i < k; i++ {
				if !left[i] {
					continue
				}
				if overlap := min(hi, exit[i]) - max(lo, j.Entered[i]); overlap > 0 {
					d[i] -= overlap
					d[k] += overlap
				}
			}
			break
		}
	}
	return d, left
}
