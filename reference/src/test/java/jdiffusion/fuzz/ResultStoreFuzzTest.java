package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.sweep.ResultStore;

import java.nio.file.Path;

/**
 * The sweep row store, read-only: the same bytes as {@code rows.jsonl} (opened for resuming and read
 * for a report), as {@code results.json} and as {@code sweep.json} (the command history).
 */
class ResultStoreFuzzTest {

    @FuzzTest(maxDuration = "10m")
    void rows(byte[] data) throws Exception {
        Path jsonl = Fuzz.dir("sweep-jsonl"), json = Fuzz.dir("sweep-json");
        Fuzz.write(jsonl, "rows.jsonl", data);
        Fuzz.write(jsonl, "sweep.json", data);
        Fuzz.write(json, "results.json", data);
        Fuzz.holds(() -> ResultStore.open(jsonl).rows());
        Fuzz.holds(() -> ResultStore.readRows(jsonl));
        Fuzz.holds(() -> ResultStore.readRows(json));
        Fuzz.holds(() -> ResultStore.open(jsonl).commands());
    }
}
