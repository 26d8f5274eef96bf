<#
.SYNOPSIS
Runs the cdn pipeline on this machine, as scripts/pipeline.sh does.

.DESCRIPTION
Installs what is missing (on Debian, through scripts/setup.sh), builds the release binary, then

  cdn train TRAIN.csv -o MODEL                   (TRAIN.csv: -Train, or cdn gen -f csv)
  cdn gen --rows N, cdn sort, cdn tag, cdn validate -o OUT     (the Data Provider...)
  cdn produce -t cdndata -t cdnraw OUT                         (...and its two topics)
  cdn predict -m MODEL kafka:cdndata -o kafka:cdnresult        (the predictor)
  cdn load-influx kafka:cdnraw; cdn load-influx kafka:cdnresult   (the two loaders)

and prints how many records each stage read, wrote and rejected, and how many points
InfluxDB holds. Kafka is $env:CDN_BROKERS when set; otherwise a local `cdn broker` on
127.0.0.1 is started and stopped. InfluxDB is $env:INFLUX_URL (database cdn) when set;
otherwise a local influxd on 127.0.0.1 with a temporary directory is started and stopped.
Rejected records go to one file per stage next to OUT (rejects-STAGE.ndjson). A stage that
rejects records exits 1 and the pipeline goes on; any other failure stops it with that
stage's status. With $env:CDN_BIN set, that binary is used and nothing is installed or built.

PowerShell before 7.4 re-encodes the bytes it pipes between native programs, so each stage
of the Data Provider writes a file that the next one reads, in a temporary directory.

.PARAMETER Rows
Test records to generate (default 100000).

.PARAMETER Train
Training data, a CSV file (default: -TrainRows records from cdn gen).

.PARAMETER TrainRows
Training records to generate when no -Train is given (default 200000).

.PARAMETER Out
Where the tagged, validated records go (default out/pipeline.ndjson).

.PARAMETER Brokers
Kafka bootstrap brokers, host:port[,host:port] (default: $env:CDN_BROKERS, else the config
file's brokers, else a local cdn broker).

.PARAMETER InfluxUrl
InfluxDB 1.x, e.g. http://influxdb:8086 (default: $env:INFLUX_URL, else the config file's url,
else a local influxd).

.PARAMETER Config
The system configuration file (deploy/cdn.toml): the Kafka brokers and the InfluxDB URL are
taken from its first `brokers` and `url` keys when neither a parameter nor the environment
gives them.

.PARAMETER Follow
Keep the pipeline running afterwards for a live demo, until Ctrl-C: every ten seconds a new
slice of traffic goes through the Data Provider at -Rate records a second, and the predictor
and both loaders follow their topics in consumer groups.

.PARAMETER Rate
Records per second of the live stream (default 200).

.EXAMPLE
pwsh scripts/pipeline.ps1 -Rows 3000 -TrainRows 5000 -Out out/p.ndjson
#>
[CmdletBinding()]
param(
  [ValidateRange(0, [long]::MaxValue)][long]$Rows = 100000,
  [string]$Train = '',
  [ValidateRange(1, [long]::MaxValue)][long]$TrainRows = 200000,
  [ValidateNotNullOrEmpty()][string]$Out = 'out/pipeline.ndjson',
  [string]$Brokers = '',
  [string]$InfluxUrl = '',
  [string]$Config = '',
  [switch]$Follow,
  [ValidateRange(1, [long]::MaxValue)][long]$Rate = 200
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# Diagnostics go to standard error; standard output carries the summary only.
function Write-Diagnostic([string]$Text) { [Console]::Error.WriteLine("pipeline.ps1: $Text") }
function Stop-Pipeline([string]$Text, [int]$Status = 2) {
  Write-Diagnostic $Text
  exit $Status
}
# A path as the native programs see it: relative to the current location.
function Resolve-FullPath([string]$Path) {
  $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
}

if ($Out -eq '-') { Stop-Pipeline '-Out needs a file path' }
if ($Train -and -not (Test-Path -LiteralPath $Train -PathType Leaf)) {
  Stop-Pipeline "cannot read the training data '$Train'"
}

$Root = Split-Path -Parent $PSScriptRoot
$OnLinux = (Test-Path variable:IsLinux) -and $IsLinux

# The binary: $env:CDN_BIN, or set up and build the release preset.
if ($env:CDN_BIN) {
  $Cdn = $env:CDN_BIN
  if (-not (Test-Path -LiteralPath $Cdn -PathType Leaf)) {
    Stop-Pipeline "CDN_BIN='$Cdn' is not an executable"
  }
} else {
  if ($OnLinux) {
    & bash (Join-Path $Root 'scripts/setup.sh')
    if ($LASTEXITCODE -ne 0) { Stop-Pipeline "setup.sh failed with status $LASTEXITCODE" $LASTEXITCODE }
    & bash (Join-Path $Root 'scripts/build.sh') '--preset' 'release' |
      ForEach-Object { [Console]::Error.WriteLine("$_") }
    if ($LASTEXITCODE -ne 0) { Stop-Pipeline "build.sh failed with status $LASTEXITCODE" $LASTEXITCODE }
  } else {
    Write-Diagnostic 'not on Linux; a C++20 compiler, CMake and the libraries of scripts/setup.sh must be installed'
    Push-Location $Root
    try {
      cmake '--preset' 'release' '--log-level=WARNING' | Out-Null
      if ($LASTEXITCODE -ne 0) { Stop-Pipeline "cmake configure failed with status $LASTEXITCODE" 3 }
      # --config: multi-config generators (MSVC) build the Release configuration.
      cmake '--build' '--preset' 'release' '--config' 'Release' |
        ForEach-Object { [Console]::Error.WriteLine("$_") }
      if ($LASTEXITCODE -ne 0) { Stop-Pipeline "cmake build failed with status $LASTEXITCODE" 3 }
    } finally {
      Pop-Location
    }
  }
  $Cdn = @(
    (Join-Path $Root 'build/release/cdn'),
    (Join-Path $Root 'build/release/cdn.exe'),
    (Join-Path $Root 'build/release/Release/cdn.exe')
  ) | Where-Object { Test-Path -LiteralPath $_ -PathType Leaf } | Select-Object -First 1
  if (-not $Cdn) { Stop-Pipeline 'no cdn binary under build/release' 3 }
}

$OutDir = Split-Path -Parent $Out
if (-not $OutDir) { $OutDir = '.' }
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$Model = Join-Path $OutDir 'model'
$Logs = Join-Path ([IO.Path]::GetTempPath()) ('cdn-pipeline-' + [guid]::NewGuid())
New-Item -ItemType Directory -Path $Logs | Out-Null

# Each stage: a name (its rejects file and log), the cdn command that prints its summary line,
# and its exit status.
$Names = [Collections.Generic.List[string]]::new()
$Commands = [Collections.Generic.List[string]]::new()
$Statuses = [Collections.Generic.List[int]]::new()

# Runs `cdn COMMAND ARGS...` with its log and rejects file; stops the pipeline with the
# stage's status when it is 2 or more.
function Invoke-Stage([string]$Name, [string]$Command, [string[]]$StageArgs) {
  $log = Join-Path $Logs $Name
  $rejects = Join-Path $OutDir "rejects-$Name.ndjson"
  # Windows PowerShell turns a native program's stderr lines into errors; only the status counts.
  $ErrorActionPreference = 'Continue'
  & $Cdn $Command '--rejects' $rejects @StageArgs 2> $log
  $status = $LASTEXITCODE
  $Names.Add($Name)
  $Commands.Add($Command)
  $Statuses.Add($status)
  if ($status -gt 1) {
    Write-Diagnostic "cdn $Command ($Name) failed with status ${status}:"
    Get-Content -LiteralPath $log | ForEach-Object { [Console]::Error.WriteLine("  $_") }
    exit $status
  }
}

# A TCP port on 127.0.0.1 that nothing listens on now.
function Get-FreePort {
  $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
  $listener.Start()
  try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# How many values of FIELD the measurement holds in the database cdn ('' when none).
function Get-InfluxCount([string]$Measurement, [string]$Field) {
  try {
    $answer = Invoke-RestMethod -Uri "$env:INFLUX_URL/query" -Method Get `
      -Body @{ db = 'cdn'; q = "SELECT count($Field) FROM $Measurement" }
    return $answer.results[0].series[0].values[0][1]
  } catch {
    return ''
  }
}

# What a live loader has written (its cdn_influx_points_written_total), from the /metrics it
# serves at the address its log names; '' when it does not answer.
function Get-LoaderWritten([string]$Log) {
  try {
    $found = Get-Content -LiteralPath $Log |
      Select-String -Pattern 'serving /metrics, /healthz and /readyz on (\S+)' | Select-Object -Last 1
    if (-not $found) { return '' }
    $metrics = Invoke-RestMethod -Uri "http://$($found.Matches[0].Groups[1].Value)/metrics" -TimeoutSec 5
    foreach ($line in ("$metrics" -split "`n")) {
      if ($line -match '^cdn_influx_points_written_total ([0-9]+)$') { return [long]$Matches[1] }
    }
  } catch {
  }
  return ''
}

$SavedBrokers = $env:CDN_BROKERS
$SavedInfluxUrl = $env:INFLUX_URL
$SavedMetricsAddr = $env:CDN_METRICS_ADDR

# The addresses: a parameter, else the environment, else the config file; what none gives is
# started locally below.
function Get-ConfigValue([string]$Key) {
  foreach ($line in Get-Content -LiteralPath $Config) {
    if ($line -match "^\s*$Key\s*=\s*`"([^`"]*)`"") { return $Matches[1] }
  }
  return ''
}
if ($Config -and -not (Test-Path -LiteralPath $Config -PathType Leaf)) {
  Stop-Pipeline "cannot read the config file '$Config'"
}
if ($Brokers) { $env:CDN_BROKERS = $Brokers }
if ($InfluxUrl) { $env:INFLUX_URL = $InfluxUrl }
if ($Config) {
  if (-not $env:CDN_BROKERS) { $env:CDN_BROKERS = Get-ConfigValue 'brokers' }
  if (-not $env:INFLUX_URL) { $env:INFLUX_URL = Get-ConfigValue 'url' }
}
# Every stage reads CDN_METRICS_ADDR, and one port cannot serve them all (the second to bind it
# fails): a fixed port becomes a free one of the same host for each (port 0, said in its log).
if ($env:CDN_METRICS_ADDR -and $env:CDN_METRICS_ADDR -notmatch '(^|:)0$') {
  $MetricsHost = if ($env:CDN_METRICS_ADDR -match '^(.+):[0-9]+$') { $Matches[1] } else { '127.0.0.1' }
  Write-Diagnostic ("warning: CDN_METRICS_ADDR=$env:CDN_METRICS_ADDR names one port for every stage, " +
    "which they cannot share; each serves on a free port of $MetricsHost instead (said in its log)")
  $env:CDN_METRICS_ADDR = "${MetricsHost}:0"
}
$Broker = $null
$Influxd = $null
$Services = [Collections.Generic.List[Diagnostics.Process]]::new()
$Clock = [Diagnostics.Stopwatch]::StartNew()
try {
  # 1. The model, from CSV.
  if (-not $Train) {
    $Train = Join-Path $OutDir 'train.csv'
    & $Cdn '-q' 'gen' '--rows' "$TrainRows" '--seed' '1' '-f' 'csv' '-o' $Train
    if ($LASTEXITCODE -ne 0) { Stop-Pipeline "cdn gen of the training data failed with status $LASTEXITCODE" $LASTEXITCODE }
  }
  Invoke-Stage 'train' 'train' @($Train, '-o', $Model, '--rounds', '200', '--max-depth', '6',
    '--eta', '0.1', '--valid-fraction', '0.1', '--early-stopping', '20')

  # 2. The Data Provider: sorted, tagged and validated test data.
  $Generated = Join-Path $Logs 'gen.ndjson'
  $Sorted = Join-Path $Logs 'sort.ndjson'
  $Tagged = Join-Path $Logs 'tag.ndjson'
  Invoke-Stage 'gen' 'gen' @('--rows', "$Rows", '--seed', '2', '-o', $Generated)
  Invoke-Stage 'sort' 'sort' @($Generated, '-o', $Sorted)
  Invoke-Stage 'tag' 'tag' @($Sorted, '-o', $Tagged)
  Invoke-Stage 'validate' 'validate' @('--schema', (Join-Path $Root 'schemas/cdn-data.json'),
    '-o', $Out, $Tagged)

  # 3. Kafka: the given brokers, or a local cdn broker for this run. The mock keeps about 5 MiB
  # a partition and drops older messages past that (cdn broker warns when it does, and a
  # reader that finds its position gone says how many records it lost and fails), so each
  # topic gets partitions enough for what this run sends at under 4 MiB a partition (8192
  # records of up to 512 bytes): the batch run's records, and with -Follow 20 s of the live
  # stream. No more: the mock walks a partition's message sets one by one on every fetch (see
  # pipeline.sh). At least 16. Its first line says where it listens; it keeps serving after
  # its standard input (an empty file) ends.
  $Live = if ($Follow) { 20 * $Rate } else { 0 }
  $Partitions = [math]::Max(16, [math]::Ceiling(($Rows + $Live) / 8192))
  if (-not $env:CDN_BROKERS) {
    $BrokerIn = Join-Path $Logs 'broker.in'
    $BrokerOut = Join-Path $Logs 'broker.out'
    $BrokerLog = Join-Path $Logs 'broker'
    New-Item -ItemType File -Path $BrokerIn | Out-Null
    $Broker = Start-Process -FilePath $Cdn -PassThru -NoNewWindow `
      -ArgumentList @('broker', '--topic', "cdndata:$Partitions", '--topic', "cdnraw:$Partitions", '--topic', "cdnresult:$Partitions") `
      -RedirectStandardInput $BrokerIn -RedirectStandardOutput $BrokerOut -RedirectStandardError $BrokerLog
    $Brokers = $null
    for ($i = 0; $i -lt 100 -and -not $Brokers; $i++) {
      Start-Sleep -Milliseconds 100
      if (Test-Path -LiteralPath $BrokerOut) {
        $Brokers = Get-Content -LiteralPath $BrokerOut | Where-Object { $_ -like 'BROKERS=*' } |
          ForEach-Object { $_.Substring(8) } | Select-Object -First 1
      }
    }
    if (-not $Brokers) { Stop-Pipeline "cdn broker did not start: $(Get-Content -Raw -LiteralPath $BrokerLog)" 3 }
    $env:CDN_BROKERS = $Brokers
    Write-Diagnostic "started a local cdn broker at $Brokers"
  }
  Invoke-Stage 'produce' 'produce' @('-t', 'cdndata', '-t', 'cdnraw', '--key-field', 'sampleID',
    '--time-field', 'timestamp', $Out)

  # 4. The predictor: cdndata to cdnresult.
  Invoke-Stage 'predict' 'predict' @('-m', $Model, 'kafka:cdndata', '-e', '-o', 'kafka:cdnresult',
    '--keep', 'qoe_bad')

  # 5. InfluxDB: the given one, or a local influxd on 127.0.0.1 with a temporary directory.
  if (-not $env:INFLUX_URL) {
    $InfluxdExe = Get-Command 'influxd' -CommandType Application -ErrorAction SilentlyContinue |
      Select-Object -First 1
    if (-not $InfluxdExe) { Stop-Pipeline 'influxd is missing; run scripts/setup.sh' 3 }
    $Rpc = Get-FreePort
    $Http = Get-FreePort
    $InfluxDir = Join-Path $Logs 'influxd'
    New-Item -ItemType Directory -Path $InfluxDir | Out-Null
    $InfluxConf = Join-Path $InfluxDir 'influxdb.conf'
    # TOML literal strings ('...'): a Windows path's backslashes stay as they are.
    $Conf = @"
reporting-disabled = true
bind-address = "127.0.0.1:$Rpc"
[meta]
  dir = '$(Join-Path $InfluxDir 'meta')'
[data]
  dir = '$(Join-Path $InfluxDir 'data')'
  wal-dir = '$(Join-Path $InfluxDir 'wal')'
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$Http"
  log-enabled = false
[monitor]
  store-enabled = false
"@
    Set-Content -LiteralPath $InfluxConf -Value $Conf
    $InfluxdOut = Join-Path $Logs 'influxd.out'
    $Influxd = Start-Process -FilePath $InfluxdExe.Source -PassThru -NoNewWindow `
      -ArgumentList @('-config', $InfluxConf) `
      -RedirectStandardOutput $InfluxdOut -RedirectStandardError (Join-Path $Logs 'influxd.err')
    $env:INFLUX_URL = "http://127.0.0.1:$Http"
    $Up = $false
    for ($i = 0; $i -lt 200 -and -not $Up; $i++) {
      try {
        Invoke-WebRequest -Uri "$env:INFLUX_URL/ping" -UseBasicParsing -TimeoutSec 2 | Out-Null
        $Up = $true
      } catch {
        Start-Sleep -Milliseconds 100
      }
    }
    if (-not $Up) { Stop-Pipeline "influxd did not start: $(Get-Content -Tail 5 -LiteralPath $InfluxdOut)" 3 }
    Write-Diagnostic "started a local influxd at $env:INFLUX_URL"
  }

  # 6. The two loaders: telemetry and predictions.
  Invoke-Stage 'load-records' 'load-influx' @('kafka:cdnraw', '-e', '--db', 'cdn', '--create-db',
    '--measurement', 'cdn', '--tag', 'pop,country,device,content_type,cache_status', '--precision', 'us')
  Invoke-Stage 'load-predictions' 'load-influx' @('kafka:cdnresult', '-e', '--db', 'cdn',
    '--create-db', '--precision', 'us')
  $Clock.Stop()

  for ($i = 0; $i -lt $Names.Count; $i++) {
    if ($Statuses[$i] -eq 1) {
      Write-Diagnostic ("cdn $($Commands[$i]) ($($Names[$i])) rejected records; see " +
        (Join-Path $OutDir "rejects-$($Names[$i]).ndjson"))
    }
  }

  # Each stage's summary line: "cdn sort: 100000 in, 100000 out, 0 rejected in 0.41 s".
  '{0,-17} {1,10} {2,10} {3,10}' -f 'stage', 'in', 'out', 'rejected'
  for ($i = 0; $i -lt $Names.Count; $i++) {
    $pattern = "^cdn $($Commands[$i]): (\d+) in, (\d+) out, (\d+) rejected"
    $line = Get-Content -LiteralPath (Join-Path $Logs $Names[$i]) |
      Where-Object { $_ -match $pattern } | Select-Object -Last 1
    if (-not $line) { Stop-Pipeline "cdn $($Commands[$i]) ($($Names[$i])) printed no summary line" 3 }
    $null = "$line" -match $pattern
    '{0,-17} {1,10} {2,10} {3,10}' -f $Names[$i], $Matches[1], $Matches[2], $Matches[3]
  }
  $Records = 0
  foreach ($record in [IO.File]::ReadLines((Resolve-FullPath $Out))) { $Records++ }
  "output:   $Out ($Records records); model: $Model"
  "kafka:    $env:CDN_BROKERS (topics cdndata, cdnraw, cdnresult)"
  $BatchRecords = Get-InfluxCount 'cdn' 'bytes_sent'
  $BatchPredictions = Get-InfluxCount 'prediction' 'prediction'
  "influxdb: $env:INFLUX_URL, database cdn: $BatchRecords records, $BatchPredictions predictions"
  foreach ($name in $Names) {
    $rejects = Join-Path $OutDir "rejects-$name.ndjson"
    if ((Test-Path -LiteralPath $rejects) -and (Get-Item -LiteralPath $rejects).Length -gt 0) {
      "rejects:  $rejects"
    } elseif (Test-Path -LiteralPath $rejects) {
      Remove-Item -LiteralPath $rejects
    }
  }
  [string]::Format([Globalization.CultureInfo]::InvariantCulture, 'elapsed:  {0:F2} s',
    $Clock.Elapsed.TotalSeconds)

  # -Follow: the same services on a live stream, until Ctrl-C.
  if ($Follow) {
    $LiveDir = Join-Path $OutDir 'live'
    New-Item -ItemType Directory -Force -Path $LiveDir | Out-Null
    # The services log with -vv: when their group gives them their partitions, and at the end
    # their summary lines. The loaders serve /metrics (on a free port, said in their logs): the
    # status below counts what they wrote from there.
    $MetricsAddr = if ($env:CDN_METRICS_ADDR) { $env:CDN_METRICS_ADDR } else { '127.0.0.1:0' }
    $ServiceArgs = @(
      @('predict', @('-vv', 'predict', '-m', $Model, 'kafka:cdndata', '-G', 'predictors', '--offset', 'end',
          '-o', 'kafka:cdnresult', '--keep', 'qoe_bad', '-X', 'linger.ms=100')),
      @('load-records', @('-vv', 'load-influx', 'kafka:cdnraw', '-G', 'loader-records', '--offset', 'end',
          '--db', 'cdn', '--measurement', 'cdn', '--tag', 'pop,country,device,content_type,cache_status',
          '--precision', 'us', '--metrics-addr', $MetricsAddr)),
      @('load-predictions', @('-vv', 'load-influx', 'kafka:cdnresult', '-G', 'loader-predictions',
          '--offset', 'end', '--db', 'cdn', '--precision', 'us', '--metrics-addr', $MetricsAddr))
    )
    foreach ($service in $ServiceArgs) {
      $name = $service[0]
      $argv = $service[1] + @('--rejects', (Join-Path $LiveDir "rejects-$name.ndjson"))
      $Services.Add((Start-Process -FilePath $Cdn -PassThru -NoNewWindow -ArgumentList $argv `
        -RedirectStandardOutput (Join-Path $LiveDir "$name.out") `
        -RedirectStandardError (Join-Path $LiveDir "$name.log")))
    }
    # The stream starts once every service holds its partitions: joining a group takes seconds,
    # and what is produced before a service knows where the end is would never be read.
    foreach ($service in $ServiceArgs) {
      $log = Join-Path $LiveDir "$($service[0]).log"
      $joined = $false
      for ($i = 0; $i -lt 300 -and -not $joined; $i++) {
        Start-Sleep -Milliseconds 100
        $joined = (Test-Path -LiteralPath $log) -and
          [bool](Get-Content -LiteralPath $log | Select-String -Pattern '^cdn [a-z-]*: assigned [0-9]* partitions' -Quiet)
      }
      if (-not $joined) { Stop-Pipeline "cdn $($service[0]) was given no partitions of its topic within 30 s; see $log" 3 }
    }
    "following: $Rate records/s through the pipeline; Kafka $env:CDN_BROKERS, InfluxDB $env:INFLUX_URL (database cdn)"
    "           logs and rejects in $LiveDir; Ctrl-C stops it all"
    # Ten seconds of traffic at a time, numbered after the batch run's records, each slice
    # generated, tagged, validated and produced at -Rate a second.
    $Next = $Rows + 1
    $Slice = 10 * $Rate
    for ($n = 0; ; $n++) {
      $start = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
      $raw = Join-Path $Logs 'live-gen.ndjson'
      $tagged = Join-Path $Logs 'live-tag.ndjson'
      $valid = Join-Path $Logs 'live-valid.ndjson'
      $ErrorActionPreference = 'Continue'
      & $Cdn '-q' 'gen' '--rows' "$Slice" '--seed' "$(3 + $n)" '--start' $start '--rate' "$Rate" '-o' $raw
      & $Cdn '-q' 'tag' '--start' "$Next" $raw '-o' $tagged
      & $Cdn '-q' 'validate' '--rejects' (Join-Path $LiveDir 'rejects-validate.ndjson') $tagged '-o' $valid
      # Message sets of up to 100 ms (see pipeline.sh): keyed records spread over every
      # partition, and the mock walks sets one by one on every fetch. The messages carry the
      # time they were sent (not the event time): what the dashboards' freshness counts from.
      & $Cdn '-q' 'produce' '-t' 'cdndata' '-t' 'cdnraw' '--key-field' 'sampleID' '-X' 'linger.ms=100' `
        '--rate' "$Rate" '--rejects' (Join-Path $LiveDir 'rejects-produce.ndjson') $valid
      $ErrorActionPreference = 'Stop'
      $Next += $Slice
      # What the batch run left plus what each live loader wrote: a count over the database
      # costs influxd more as it grows (see pipeline.sh); only when a loader does not answer is
      # InfluxDB asked.
      $written = Get-LoaderWritten (Join-Path $LiveDir 'load-records.log')
      $nowRecords = if ($written -ne '') { [long]("0$BatchRecords") + $written } else { Get-InfluxCount 'cdn' 'bytes_sent' }
      $written = Get-LoaderWritten (Join-Path $LiveDir 'load-predictions.log')
      $nowPredictions = if ($written -ne '') { [long]("0$BatchPredictions") + $written } else { Get-InfluxCount 'prediction' 'prediction' }
      "following: InfluxDB holds $nowRecords records and $nowPredictions predictions"
    }
  }
} finally {
  # Whatever this run started is stopped, the services before the broker and the database they
  # write to, and the caller's environment is left as it was.
  foreach ($p in $Services) {
    if ($p -and -not $p.HasExited) {
      Stop-Process -Id $p.Id -ErrorAction SilentlyContinue
      $p.WaitForExit()
    }
  }
  foreach ($p in @($Broker, $Influxd)) {
    if ($p -and -not $p.HasExited) {
      Stop-Process -Id $p.Id -ErrorAction SilentlyContinue
      $p.WaitForExit()
    }
  }
  $env:CDN_BROKERS = $SavedBrokers
  $env:INFLUX_URL = $SavedInfluxUrl
  $env:CDN_METRICS_ADDR = $SavedMetricsAddr
  Remove-Item -Recurse -Force -LiteralPath $Logs -ErrorAction SilentlyContinue
}
