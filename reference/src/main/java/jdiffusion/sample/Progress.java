package jdiffusion.sample;

/** Receives progress of long operations (sampling steps); the CLI prints it, tests stay quiet. */
public interface Progress {
    Progress NONE = (label, done, total, detail) -> { };

    void update(String label, int done, int total, String detail);

    /** Prints one line per update to stderr with an ETA from the average time so far. */
    static Progress console() {
        return new Progress() {
            private final long start = System.nanoTime();

            @Override
            public void update(String label, int done, int total, String detail) {
                double el = (System.nanoTime() - start) / 1e9;
                double eta = done == 0 ? Double.NaN : el / done * (total - done);
                System.err.printf("%s %d/%d %s  [%.1fs elapsed, ETA %s]%n", label, done, total, detail, el,
                        Double.isNaN(eta) ? "?" : String.format("%.1fs", eta));
            }
        };
    }
}
