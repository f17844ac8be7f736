using KubectlHag;

var command = HagCommandLine.Build(Console.Out, Console.Error);
var parsed = command.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("See kubectl hag --help.");
    return ExitCodes.Usage;
}
return await parsed.InvokeAsync();
