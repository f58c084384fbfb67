package jdiffusion.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import jdiffusion.sample.ClassEmbeddings;

import java.nio.file.Path;

/** A class-conditional pipeline's class_embeddings/ folder: config.json, a NUL byte, then class_embeddings.safetensors. */
class ClassEmbeddingsFuzzTest {

    @FuzzTest(maxDuration = "10m")
    void classEmbeddings(byte[] data) throws Exception {
        byte[][] parts = Fuzz.split(data);
        Path dir = Fuzz.dir("class_embeddings");
        Fuzz.write(dir, "config.json", parts[0]);
        Fuzz.write(dir, "class_embeddings.safetensors", parts[1]);
        Fuzz.holds(() -> {
            ClassEmbeddings e = ClassEmbeddings.load(dir);
            for (int i = 0; i < e.classNames().size(); i++) e.embedding(i);
            e.embedding(e.nullIndex());
        });
    }
}
