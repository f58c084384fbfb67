package jdiffusion.spark;

import jdiffusion.cli.Cluster;

import java.util.List;

/** How the CLI finds Spark: registered in META-INF/services/jdiffusion.cli.Cluster$Provider, loaded with ServiceLoader. */
public final class SparkProvider implements Cluster.Provider {
    @Override
    public Cluster connect(String master, List<String> commandLine) {
        return new SparkCluster(master, commandLine);
    }
}
