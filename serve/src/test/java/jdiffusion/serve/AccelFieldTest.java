package jdiffusion.serve;

import jdiffusion.accel.PolicySpec;
import jdiffusion.cli.AccelOptions;
import jdiffusion.tensor.NoiseSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** The JSON accel field builds the policy `--accel` builds: same defaults, same methods, same parameters. */
class AccelFieldTest {

    @Test
    void defaultsAreTheClisDefaults() {
        CommandLine.Model.CommandSpec cli = CommandLine.Model.CommandSpec.forAnnotatedObject(new AccelOptions());
        assertEquals(AccelField.DELTA, Double.parseDouble(cli.findOption("--delta").defaultValue()));
        assertEquals(AccelField.MAX_SKIP, Integer.parseInt(cli.findOption("--max-skip").defaultValue()));
        assertEquals(AccelField.INTERVAL, Integer.parseInt(cli.findOption("--interval").defaultValue()));
        assertEquals(AccelField.BRANCH, Integer.parseInt(cli.findOption("--branch").defaultValue()));
        assertEquals(AccelField.POWER, Double.parseDouble(cli.findOption("--power").defaultValue()));
        assertEquals(AccelField.BETA, Double.parseDouble(cli.findOption("--beta").defaultValue()));
        assertEquals(AccelField.LOW_RES_FRACTION, Double.parseDouble(cli.findOption("--low-res-fraction").defaultValue()));
        assertEquals("uniform", cli.findOption("--deepcache-schedule").defaultValue());
        for (String p : AccelField.PARAMETERS.keySet())
            assertNotNull(cli.findOption("--" + p.replace('_', '-')), "JSON parameter " + p + " is a CLI option in snake_case");
    }

    /** {JSON accel, the same as CLI flags, model}: the policies must describe themselves identically. */
    @Test
    void everyFormBuildsThePolicyTheCliBuilds() throws Exception {
        List<String[]> cases = List.of(
                new String[]{"\"none\"", "--accel none", "fashion-ddpm-32"},
                new String[]{"\"adaptive\"", "--accel adaptive", "fashion-ddpm-32"},
                new String[]{"{\"method\":\"adaptive\",\"delta\":0.03,\"max_skip\":2}", "--accel adaptive --delta 0.03 --max-skip 2", "fashion-ddpm-32"},
                new String[]{"{\"method\":\"adaptive\",\"delta\":0.03,\"adaptive_scope\":\"sample\"}", "--accel adaptive --delta 0.03 --adaptive-scope sample", "fashion-ddpm-32"},
                new String[]{"\"ad-d0.02-c4-s\"", "--accel adaptive --delta 0.02 --adaptive-scope sample", "fashion-ddpm-32"},
                new String[]{"{\"method\":[\"deepcache\"],\"interval\":4,\"branch\":1}", "--accel deepcache --interval 4 --branch 1", "fashion-ddpm-32"},
                new String[]{"{\"method\":\"deepcache\",\"deepcache_schedule\":\"non-uniform\",\"center\":5,\"power\":1.2}",
                        "--accel deepcache --deepcache-schedule non-uniform --center 5 --power 1.2", "fashion-ddpm-32"},
                new String[]{"{\"method\":\"mixed-res\",\"beta\":0.5,\"low_res_fraction\":0.3}", "--accel mixed-res --beta 0.5 --low-res-fraction 0.3", "fashion-ddpm-32"},
                new String[]{"\"adaptive,deepcache\"", "--accel adaptive,deepcache", "fashion-ddpm-32"},
                new String[]{"\"postdiff\"", "--accel postdiff", "fashion-ddpm-32"},
                new String[]{"\"postdiff\"", "--accel postdiff", "fashion-cond-32"},
                new String[]{"{\"method\":[\"xattn\"],\"xattn_step\":3}", "--accel xattn --xattn-step 3", "fashion-cond-32"},
                new String[]{"\"dc-n2-b0-u\"", "--accel deepcache --interval 2 --branch 0", "fashion-ddpm-32"});
        int steps = 20;
        for (String[] c : cases) {
            ServedModel m = TestServers.models().get(c[2]);
            PolicySpec spec = AccelField.parse(Server.JSON.readTree(c[0]), m, steps);
            AccelOptions cli = new AccelOptions();
            new CommandLine(CommandLine.Model.CommandSpec.forAnnotatedObject(cli)).parseArgs(c[1].split(" "));
            NoiseSource rng = new NoiseSource(1);
            assertEquals(cli.policy(m.pipeline(), rng, steps).describe(), spec.build(m.pipeline(), rng, steps).describe(), c[0] + " vs " + c[1]);
        }
    }
}
