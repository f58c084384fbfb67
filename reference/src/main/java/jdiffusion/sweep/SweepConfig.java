package jdiffusion.sweep;

import jdiffusion.accel.PolicySpec;

/**
 * One point of the sweep: a scheduler, a step count and an acceleration setting. Its id
 * ({@code ddim/dc-n3-b0-u@50}) keys the results store, so a resumed sweep recognises finished rows.
 */
public record SweepConfig(String scheduler, int steps, PolicySpec policy) {

    public SweepConfig {
        if (steps < 1) throw new IllegalArgumentException("steps must be ≥ 1, got " + steps);
    }

    public String id() {
        return scheduler + "/" + policyId();
    }

    /** The id without the scheduler: {@code dc-n3-b0-u@50}. */
    public String policyId() {
        return policy.id() + "@" + steps;
    }

    public String family() {
        return policy.family();
    }

    /** "DC N=3 b0, 50 steps" / "full-step, 25 steps". */
    public String label() {
        return policy.label() + ", " + steps + " steps";
    }

    /** Whether AdaptiveDiffusion decides in this run (its runs go one image per batch, see {@link Sweep}). */
    public boolean adaptive() {
        return policy.adaptive() != null;
    }

    /** Reads {@code scheduler/policy@steps}, or {@code policy@steps} with the given default scheduler. */
    public static SweepConfig parse(String text, String defaultScheduler) {
        String t = text.trim();
        String sched = defaultScheduler;
        int slash = t.indexOf('/');
        if (slash >= 0) {
            sched = t.substring(0, slash);
            t = t.substring(slash + 1);
        }
        int at = t.lastIndexOf('@');
        if (at < 0) throw new IllegalArgumentException("configuration '" + text + "' has no step count: write it as e.g. dc-n3-b0-u@50");
        int steps;
        try {
            steps = Integer.parseInt(t.substring(at + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("configuration '" + text + "': bad step count '" + t.substring(at + 1) + "'");
        }
        return new SweepConfig(sched, steps, PolicySpec.parse(t.substring(0, at)));
    }
}
