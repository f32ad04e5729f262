package io.tarq.tools;

import io.tarq.engine.TarqRuntime;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ./tarq}: the command line. Exit codes: 0 success, 1 a fault in a file or its data (one line on stderr
 * naming the file, tensor or id), 2 a usage error (unknown flag, bad value, no command), one line on stderr and a
 * pointer to the command's {@code --help}.
 *
 * <p>Messages count lines and columns from 1, as editors do, and positions in a request from 0, as the engine does:
 * {@code line 2: candidate id 31337 at candidates[1] is not in the catalog} is the second line's second candidate.
 */
@Command(name = "tarq", mixinStandardHelpOptions = true, versionProvider = TarqCli.Version.class,
        description = "Serve, check and benchmark TARQ pre-ranking models.",
        subcommands = {VerifyCommand.class, InspectCommand.class, SynthCommand.class, ScoreCommand.class, BenchCommand.class,
                EvalCommand.class, EncodeItemsCommand.class, SoakCommand.class, ServeCommand.class, LoadCommand.class,
                io.tarq.tools.demo.DemoCommand.class},
        footer = {"", "Exit codes: 0 success, 1 a fault in a file or its data, 2 a usage error.",
                "Run 'tarq COMMAND --help' for a command's flags and defaults."})
public final class TarqCli implements Callable<Integer> {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAULT = 1;
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** What {@code --input -} reads: {@link System#in}, or a test's bytes. */
    private final InputStream stdin;

    private TarqCli(InputStream stdin) {
        this.stdin = stdin;
    }

    /** No command is a usage error: the usage goes to stderr. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    /** Standard input, for the commands' {@code -} file options ({@link StandardStreams}). */
    InputStream stdin() {
        return stdin;
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

    /** Runs one command line, with {@link System#in} as standard input; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, System.in, out, err);
    }

    /** Runs one command line; returns the exit code. */
    public static int run(String[] args, InputStream stdin, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new TarqCli(stdin));
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, arguments) -> {
            CommandLine commandLine = e.getCommandLine();
            commandLine.getErr().println(usageError(commandLine.getCommandSpec().qualifiedName(), e));
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": " + oneLine(e));
            return EXIT_FAULT;
        });
        return cli.execute(args);
    }

    /**
     * {@code tarq score: Missing required option: '--input=REQUESTS.jsonl' (see 'tarq score --help')}: the fault and
     * where the flags are explained, not the whole help, which would bury the one line that matters.
     */
    static String usageError(String command, CommandLine.ParameterException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        StringBuilder line = new StringBuilder(command).append(": ").append(message.lines().findFirst().orElse(message));
        if (e instanceof CommandLine.UnmatchedArgumentException unmatched) {
            List<String> suggestions = unmatched.getSuggestions();
            if (!suggestions.isEmpty()) { // picocli orders them by similarity
                line.append("; did you mean '").append(suggestions.getFirst()).append("'?");
            }
        }
        return line.append(" (see '").append(command).append(" --help')").toString();
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

    /** {@code tarq --version}: the release, the JVM, and the kernels requests would run on here. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"tarq " + TarqRuntime.version() + " on Java " + Runtime.version(),
                    "kernels: " + TarqRuntime.kernels()};
        }
    }
}
