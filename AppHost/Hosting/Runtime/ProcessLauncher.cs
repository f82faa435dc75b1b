using System.Collections.Concurrent;
using System.Diagnostics;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// Starts every child process from one long-lived thread. Children are launched through <c>setpriv --pdeathsig</c>, and Linux
/// sends that signal when the <em>thread</em> that forked the child exits (PR_SET_PDEATHSIG tracks the thread, not the process).
/// Thread-pool threads retire when idle, which would kill healthy children; this thread lives as long as the process, so the
/// signal fires only when the AppHost itself dies, even by SIGKILL.
/// </summary>
internal static class ProcessLauncher
{
    private static readonly BlockingCollection<Action> Work = [];
    // Started on first use and never ends; a field so the type initializer creates it after the work queue.
    private static readonly Thread Launcher = StartLauncherThread();

    /// <summary>Starts <paramref name="startInfo"/> on the launcher thread; <paramref name="beforeStart"/> attaches event handlers first.
    /// Output reading begins right after the start when stdout/stderr are redirected.</summary>
    public static Task<Process> StartAsync(ProcessStartInfo startInfo, Action<Process> beforeStart)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
            try
            {
                beforeStart(process);
                process.Start();
                if (startInfo.RedirectStandardOutput)
                {
                    process.BeginOutputReadLine();
                }
                if (startInfo.RedirectStandardError)
                {
                    process.BeginErrorReadLine();
                }
                if (startInfo.RedirectStandardInput)
                {
                    process.StandardInput.Close();
                }
                started.SetResult(process);
            }
            catch (Exception ex)
            {
                process.Dispose();
                started.SetException(ex);
            }
        });
        return started.Task;
    }

    private static Thread StartLauncherThread()
    {
        var thread = new Thread(() =>
        {
            foreach (var work in Work.GetConsumingEnumerable())
            {
                work();
            }
        })
        {
            IsBackground = true,
            Name = "AppHost process launcher",
        };
        thread.Start();
        return thread;
    }
}

/// <summary>Runs a short-lived helper (such as <c>initdb</c>) to completion through the launcher thread.</summary>
internal static class ProcessRunner
{
    /// <summary>Runs <paramref name="spec"/>, passing each output line to <paramref name="log"/>; returns the exit code and all lines.</summary>
    public static async Task<(int ExitCode, IReadOnlyList<string> Output)> RunToCompletionAsync(
        ProcessSpec spec, Action<string> log, CancellationToken cancellationToken)
    {
        var output = new List<string>();
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                lock (output)
                {
                    output.Add(line);
                }
                log(line);
            }
        }
        using var process = await ProcessLauncher.StartAsync(spec.ToStartInfo(), p =>
        {
            p.OutputDataReceived += OnLine;
            p.ErrorDataReceived += OnLine;
        }).ConfigureAwait(false);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        lock (output)
        {
            return (process.ExitCode, output.ToList());
        }
    }
}
