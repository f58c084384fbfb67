package jdiffusion.cli;

/** Validation of numeric CLI values, with messages that name the option. */
final class Checks {
    private Checks() {
    }

    static int atLeast(String option, int value, int min) {
        if (value < min) throw new IllegalArgumentException(option + " must be at least " + min + ", got " + value);
        return value;
    }
}
