package io.tarq.tools;

import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ./tarq}: the command line. Exit codes: 0 success, 1 a fault in a file or its data (one line on stderr
 * naming the file, tensor or id), 2 a usage error (unknown flag, bad value).
 */
@Command(name = "tarq", mixinStandardHelpOptions = true, versionProvider = TarqCli.Version.class,
        description = "Serve, check and benchmark TARQ pre-ranking models.",
        subcommands = {VerifyCommand.class, InspectCommand.class, SynthCommand.class, ScoreCommand.class, BenchCommand.class,
                EvalCommand.class, EncodeItemsCommand.class, SoakCommand.class, ServeCommand.class, LoadCommand.class,
                io.tarq.tools.demo.DemoCommand.class},
        footer = {"", "Exit codes: 0 success, 1 a fault in a file or its data, 2 a usage error.",
                "Run 'tarq COMMAND --help' for a command's flags and defaults."})
public final class TarqCli implements Runnable {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAULT = 1;
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Held so the logging configuration is not collected. */
    private static final java.util.logging.Logger ENGINE_LOG = java.util.logging.Logger.getLogger("io.tarq.engine");

    public static void main(String[] args) {
        // The engine logs which kernels it chose at INFO, for servers; the commands that care print it themselves.
        // A fallback WARNING still shows, on one line.
        System.setProperty("java.util.logging.SimpleFormatter.format", "tarq: %4$s: %5$s%n");
        ENGINE_LOG.setLevel(java.util.logging.Level.WARNING);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new TarqCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("tarq " + commandLine.getCommandName() + ": " + oneLine(e));
            return EXIT_FAULT;
        });
        return cli.execute(args);
    }

    /** The one line a user sees for a failure: the file, the thing in it and the fault, no stack trace. */
    static String oneLine(Exception e) {
        if (e instanceof ModelFormatException) {
            return e.getMessage();
        }
        if (e instanceof NoSuchFileException nsf) {
            return nsf.getFile() + ": no such file";
        }
        if (e instanceof AccessDeniedException ade) {
            return ade.getFile() + ": permission denied";
        }
        if (e instanceof IOException) {
            return e.getMessage() == null ? e.toString() : e.getMessage();
        }
        String message = e.getMessage();
        return message == null ? e.getClass().getName() : message.lines().findFirst().orElse(message);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = TarqCli.class.getPackage().getImplementationVersion();
            return new String[] {"tarq " + (v == null ? "dev" : v) + " on Java " + Runtime.version()};
        }
    }
}
