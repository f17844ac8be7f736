using System.Runtime.InteropServices;
using FailoverOperator.Chaos;

// Watch loops, two samplers and bursts of concurrent writes share two busy cores with the control plane
// and two operators: start with enough pool threads that no continuation waits for the pool to grow.
ThreadPool.SetMinThreads(32, 32);

using var cancel = new CancellationTokenSource();
// Ctrl+C or SIGTERM end the storm early; the run still stops its operators and its control plane.
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });

return await ChaosCommandLine.Build(options => ChaosRun.RunAsync(options, cancel.Token)).Parse(args).InvokeAsync();
