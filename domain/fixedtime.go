package domain

// timedDelay says whether a trigger fires a fixed delay after another one:
// operate, 24 h after the production deployment (see OperateAt).
func timedDelay(t Trigger) (after Trigger, delayMicros int64, ok bool) {
	if t == TrigOperate {
		return TrigDeployProd, OperateAfter.Microseconds(), true
	}
	return 0, 0, false
}

// stageTimes is when an item left each stage it entered (exit, Unix µs; 0
// while it is still there) and how long it stayed (stay, µs), with the
// waits by design where they belong.
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
func (v *ValueStream) stageTimes(it *FlowItem, j *Journey) (stay, exit [MaxStages]int64) {
	n := len(v.Stages)
	// A stage is left for the next stage entered, or, the furthest one, at done.
	next := j.Done
	for i := n - 1; i >= 0; i-- {
		if e := j.Entered[i]; e != 0 {
			if next != 0 {
				exit[i], stay[i] = next, next-e
			}
			next = e
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
				if exit[i] == 0 {
					continue
				}
				if overlap := min(hi, exit[i]) - max(lo, j.Entered[i]); overlap > 0 {
					stay[i] -= overlap
					stay[k] += overlap
				}
			}
			break
		}
	}
	return stay, exit
}
