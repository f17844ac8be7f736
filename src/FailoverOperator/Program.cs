using FailoverOperator.Hosting;
using Microsoft.Extensions.Logging.Console;
using Prometheus;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(OperatorOptions.Usage);
    return 0;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
OperatorOptions options;
try
{
    options = OperatorOptions.From(builder.Configuration);
}
catch (OptionsException e)
{
    Console.Error.WriteLine($"failover-operator: {e.Message}\n\n{OperatorOptions.Usage}");
    return 2;
}

builder.Logging.ClearProviders();
if (options.LogFormat == "json") builder.Logging.AddJsonConsole(o => o.TimestampFormat = "O");
else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.ColorBehavior = LoggerColorBehavior.Disabled; });
builder.Logging.SetMinimumLevel(options.LogLevel);
// The framework's own info logs are noise for an operator; its warnings and errors are not.
builder.Logging.AddFilter("Microsoft", options.LogLevel > LogLevel.Warning ? options.LogLevel : LogLevel.Warning);

builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(options.BindAddress, options.MetricsPort);
    if (options.HealthPort != options.MetricsPort) k.Listen(options.BindAddress, options.HealthPort);
});

KubernetesClients clients;
try
{
    clients = new KubernetesClients(options.Kubeconfig);
}
catch (Exception e)
{
    Console.Error.WriteLine($"failover-operator: cannot load the Kubernetes client configuration ({e.Message}). " +
        "Pass --kubeconfig=PATH, set KUBECONFIG, or run in a cluster.");
    return 2;
}

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(clients);
builder.Services.AddSingleton<OperatorService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<OperatorService>());

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapGet("/readyz", (OperatorService op) => op.NotReadyReason is { } reason ? Results.Text(reason, statusCode: 503) : Results.Text("ok"));
app.MapMetrics("/metrics");
await app.RunAsync();
return Environment.ExitCode;
