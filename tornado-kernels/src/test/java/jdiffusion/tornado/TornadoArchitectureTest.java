package jdiffusion.tornado;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import jdiffusion.Layers;
import org.junit.jupiter.api.Test;

/** The TornadoVM backend sits in the layer "tornado" of {@link Layers}: it may use kernels and below, nothing above. */
class TornadoArchitectureTest {
    @Test
    void tornadoUsesOnlyTheLayersBelowIt() {
        Layers.rule().check(new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("jdiffusion"));
    }
}
