using System.CommandLine;
using FailoverAgent.Hosting;
using FailoverAgent.Roles;

var parsed = AgentCommandLine.Root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"failover-agent: {error.Message}");
    Console.Error.WriteLine("See failover-agent --help.");
    return 2;
}
var mode = parsed.CommandResult.Command;
if (parsed.Action is not null || (mode != AgentCommandLine.Sidecar && mode != AgentCommandLine.Run))
{
    // --help, --version, or no mode named: System.CommandLine prints help.
    if (parsed.Action is null) Console.Error.WriteLine("failover-agent: name a mode: sidecar or run (see --help)");
    return parsed.Action is null ? 2 : await parsed.InvokeAsync();
}
var (options, problem) = AgentCommandLine.Common(parsed);
if (options is null)
{
    Console.Error.WriteLine($"failover-agent: {problem}");
    return 2;
}

var host = new AgentHost(options);
try
{
    if (mode == AgentCommandLine.Sidecar)
    {
        var hooks = new SidecarHooks(parsed.GetValue(AgentCommandLine.OnPromote), parsed.GetValue(AgentCommandLine.OnDemote),
            parsed.GetValue(AgentCommandLine.PromoteUrl), parsed.GetValue(AgentCommandLine.DemoteUrl));
        var policy = new HookPolicy(parsed.GetValue(AgentCommandLine.HookTimeout), parsed.GetValue(AgentCommandLine.HookAttempts),
            parsed.GetValue(AgentCommandLine.HookBackoff));
        using var http = new HttpClient();
        // A hook cannot be made to finish by the deadline, so it starts at the deadline (no lead): a hook
        // must be quick, and the application should check the term itself (docs/fencing.md, Agent).
        return await host.RunAsync(events => new SidecarHandler(hooks, policy, events, http), demotionLead: TimeSpan.Zero, demotionAllowance: policy.Timeout);
    }
    var command = parsed.GetValue(AgentCommandLine.Command)!;
    var grace = parsed.GetValue(AgentCommandLine.Grace);
    // The wrapped command ended by itself while active: hand over, and exit with its code.
    return await host.RunAsync(_ => new WrappedCommand(command, grace, host.RequestStop), demotionLead: grace, demotionAllowance: grace);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"failover-agent: {e.Message}");
    return 2;
}
catch (System.Net.Sockets.SocketException e)
{
    Console.Error.WriteLine($"failover-agent: cannot listen on 127.0.0.1:{options.Port} ({e.Message}); choose another --port");
    return 2;
}
