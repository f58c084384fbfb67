package jdiffusion.kernels;

/**
 * Finds the TornadoVM backend (module tornado-kernels) on the class path, if the user built it. It is
 * loaded by name so that the engine does not depend on TornadoVM, which only some machines have.
 */
final class TornadoLoader {
    static final String CLASS = "jdiffusion.tornado.TornadoBackend";

    private TornadoLoader() {
    }

    static Backend create() {
        Class<?> cls;
        try {
            cls = Class.forName(CLASS);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("--backend tornado: the TornadoVM backend is not on the class path. "
                    + "Build it where TornadoVM is installed (TORNADOVM_HOME set; see tornado-kernels/README.md) "
                    + "and run through ./jdiffusion, which adds it when present.");
        }
        try {
            return (Backend) cls.getConstructor().newInstance();
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable c = e.getCause();
            throw new IllegalStateException("--backend tornado: TornadoVM could not start: " + c.getMessage(), c);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("--backend tornado: cannot create " + CLASS + ": " + e, e);
        }
    }
}
