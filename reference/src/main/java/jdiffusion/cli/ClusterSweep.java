package jdiffusion.cli;

import jdiffusion.sweep.Sweep;
import jdiffusion.sweep.SweepConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sweep's parts from a {@link Cluster}: the sweep asks for one configuration at a time, in its order;
 * this keeps the configurations that come next already submitted (enough to fill every task slot twice
 * over), so the cluster never waits for the driver, and the driver holds the images of only a few
 * configurations at a time.
 */
final class ClusterSweep implements Sweep.Source {
    private final Cluster cluster;
    private final List<SweepConfig> pending;
    private final int images, perTask, ahead;
    private final Map<String, Cluster.Job> submitted = new HashMap<>();

    /** @param pending the configurations the sweep will compute, in its order */
    ClusterSweep(Cluster cluster, List<SweepConfig> pending, int images, int perTask) {
        this.cluster = cluster;
        this.pending = new ArrayList<>(pending);
        this.images = images;
        this.perTask = perTask;
        int tasksPerConfig = (images + perTask - 1) / perTask;
        this.ahead = Math.max(1, (2 * cluster.slots() + tasksPerConfig - 1) / tasksPerConfig);
    }

    @Override
    public List<Sweep.Part> parts(SweepConfig c, int referenceSteps) {
        int at = pending.indexOf(c);
        for (int i = Math.max(0, at); i < Math.min(pending.size(), Math.max(0, at) + 1 + ahead); i++) submit(pending.get(i));
        Cluster.Job job = submit(c);
        submitted.remove(c.id());
        if (at >= 0) pending.remove(at);
        return job.await();
    }

    private Cluster.Job submit(SweepConfig c) {
        return submitted.computeIfAbsent(c.id(), id -> cluster.submit(id, 0, images, perTask));
    }
}
