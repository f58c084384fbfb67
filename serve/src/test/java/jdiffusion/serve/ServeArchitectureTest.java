package jdiffusion.serve;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import jdiffusion.Layers;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The server is a layer on top: it uses the engine and the CLI's option groups, and nothing below sees it or its framework. */
class ServeArchitectureTest {

    @Test
    void serveUsesOnlyTheLayersBelowIt() {
        Layers.rule().check(new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("jdiffusion.serve"));
    }

    @Test
    void theEngineDoesNotDependOnTheWebFramework() {
        noClasses().that().resideOutsideOfPackage("jdiffusion.serve..")
                .should().dependOnClassesThat().resideInAnyPackage("io.javalin..", "org.eclipse.jetty..", "io.micrometer..", "jakarta.servlet..")
                .because("the plain CLI must not load the web framework (./jdiffusion routes only `serve` to the server jar)")
                .check(new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("jdiffusion"));
    }
}
