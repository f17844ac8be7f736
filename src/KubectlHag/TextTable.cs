using System.Text;

namespace KubectlHag;

/// <summary>Columns padded to their widest cell, two spaces apart, as kubectl get prints them.</summary>
public static class TextTable
{
    public static string Render(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string indent = "")
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = header.Select((_, column) => all.Max(row => row[column].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in all)
        {
            var cells = row.Select((cell, column) => column == row.Count - 1 ? cell : cell.PadRight(widths[column]));
            text.Append(indent).AppendLine(string.Join("  ", cells).TrimEnd());
        }
        return text.ToString();
    }
}
