package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.weights.CheckpointReader;
import jdiffusion.weights.SafeTensorsFile;
import jdiffusion.weights.TensorEntry;
import jdiffusion.weights.WeightStore;

import java.nio.file.Path;

/** The safetensors reader (header validation, dtype conversion) and the checkpoint bookkeeping on top of it. */
class SafeTensorsFuzzTest {

    @FuzzTest(maxDuration = "10m")
    void safetensors(byte[] data) throws Exception {
        Path f = Fuzz.write(Fuzz.dir("safetensors"), "model.safetensors", data);
        Fuzz.holds(() -> {
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                for (TensorEntry e : st.entries().values()) {
                    float[] v = st.floats(e.name());
                    if (v.length != e.elementCount()) throw new AssertionError(e + " read as " + v.length + " values");
                }
            }
        });
        Fuzz.holds(() -> {
            try (WeightStore store = WeightStore.open(f)) {
                CheckpointReader r = new CheckpointReader(store);
                for (String k : store.keys()) {
                    TensorEntry e = store.entry(k);
                    r.take(k, e.intShape());                 // as a model would: its own shape
                    r.takeOptional(k + ".missing", 1, 2);    // and keys the file lacks
                }
                r.take("not.in.the.file", 3);
                r.finish("fuzzed model");
            }
        });
    }
}
