# Runs the cdn pipeline on this machine, as scripts/pipeline.sh does: installs what is
# missing (on Debian, through scripts/setup.sh), builds the release binary, then runs
#
#   cdn gen --rows N | cdn sort | cdn tag -o OUT
#   cdn produce -t cdndata -t cdnraw OUT, then cdn consume -t cdnraw -e (read back)
#
# and prints how many records each stage read, wrote and rejected. Rejected records go to
# one file per stage next to OUT (rejects-STAGE.ndjson). A stage that rejects records exits
# 1 and the pipeline goes on; any other failure stops it with that stage's status.
#
# PowerShell before 7.4 re-encodes the bytes it pipes between native programs, so each stage
# here writes a file that the next one reads, in a temporary directory.
#
# Usage: pwsh scripts/pipeline.ps1 [-Rows N] [-Out PATH]
param(
  [ValidateRange(0, [long]::MaxValue)][long]$Rows = 100000,
  [string]$Out = 'out/pipeline.ndjson'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = Split-Path -Parent $PSScriptRoot

# Set up and build.
$OnLinux = (Test-Path variable:IsLinux) -and $IsLinux
if ($OnLinux) {
  & bash (Join-Path $Root 'scripts/setup.sh')
  if ($LASTEXITCODE -ne 0) { throw "setup.sh failed with status $LASTEXITCODE" }
} else {
  Write-Host 'pipeline.ps1: not on Linux; a C++20 compiler, CMake, CLI11, simdjson and zlib must be installed'
}
Push-Location $Root
try {
  cmake --preset release --log-level=WARNING | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "cmake configure failed with status $LASTEXITCODE" }
  cmake --build --preset release --config Release  # --config: multi-config generators (MSVC)
  if ($LASTEXITCODE -ne 0) { throw "cmake build failed with status $LASTEXITCODE" }
} finally {
  Pop-Location
}
$Cdn = @(
  (Join-Path $Root 'build/release/cdn'),
  (Join-Path $Root 'build/release/cdn.exe'),
  (Join-Path $Root 'build/release/Release/cdn.exe')
) | Where-Object { Test-Path $_ -PathType Leaf } | Select-Object -First 1
if (-not $Cdn) { throw 'no cdn binary under build/release' }

$OutDir = Split-Path -Parent $Out
if (-not $OutDir) { $OutDir = '.' }
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$Work = Join-Path ([IO.Path]::GetTempPath()) ("cdn-pipeline-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $Work | Out-Null

# One stage: its arguments, where its diagnostics go; stops on any status but 0 and 1.
function Invoke-Stage([string]$Name, [string[]]$StageArgs) {
  $log = Join-Path $Work "$Name.log"
  # Windows PowerShell turns a native program's stderr lines into errors; only the status counts.
  $ErrorActionPreference = 'Continue'
  & $Cdn $Name @StageArgs --rejects (Join-Path $OutDir "rejects-$Name.ndjson") 2> $log
  $status = $LASTEXITCODE
  if ($status -eq 1) {
    Write-Warning "cdn $Name rejected records; see $(Join-Path $OutDir "rejects-$Name.ndjson")"
  } elseif ($status -ne 0) {
    Get-Content $log | ForEach-Object { Write-Host "  $_" }
    throw "cdn $Name failed with status $status"
  }
}

$Stages = @('gen', 'sort', 'tag')
$Clock = [Diagnostics.Stopwatch]::StartNew()
try {
  $Generated = Join-Path $Work 'gen.ndjson'
  $Sorted = Join-Path $Work 'sort.ndjson'
  Invoke-Stage 'gen' @('--rows', "$Rows", '-o', $Generated)
  Invoke-Stage 'sort' @($Generated, '-o', $Sorted)
  Invoke-Stage 'tag' @($Sorted, '-o', $Out)

  # Kafka: $env:CDN_BROKERS, or a local cdn broker on 127.0.0.1 for this run (16 partitions a
  # topic: the mock keeps about 5 MiB a partition). Its first line says where it listens.
  if (-not $env:CDN_BROKERS) {
    $BrokerOut = Join-Path $Work 'broker.out'
    $Broker = Start-Process -FilePath $Cdn -PassThru -NoNewWindow `
      -ArgumentList @('broker', '--topic', 'cdndata:16', '--topic', 'cdnraw:16') `
      -RedirectStandardOutput $BrokerOut -RedirectStandardError (Join-Path $Work 'broker.log')
    $Brokers = $null
    for ($i = 0; $i -lt 100 -and -not $Brokers; $i++) {
      Start-Sleep -Milliseconds 100
      if (Test-Path $BrokerOut) {
        $Brokers = Get-Content $BrokerOut | Where-Object { $_ -like 'BROKERS=*' } |
          ForEach-Object { $_.Substring(8) } | Select-Object -First 1
      }
    }
    if (-not $Brokers) { throw 'cdn broker did not start' }
    $env:CDN_BROKERS = $Brokers
    "started a local cdn broker at $Brokers"
  }
  $Stages += @('produce', 'consume')
  Invoke-Stage 'produce' @('-t', 'cdndata', '-t', 'cdnraw', '--key-field', 'sampleID',
    '--timestamp-field', 'timestamp', $Out)
  $Raw = Join-Path $OutDir 'cdnraw.ndjson'
  Invoke-Stage 'consume' @('-t', 'cdnraw', '-e', '-o', $Raw)
  # Stages still to join, in this order, each checked the same way:
  #   validate     cdn validate --schema schemas/cdn-data.json (rejects with reasons),
  #                between tag and produce
  #   predict      cdn predict --model MODEL_DIR kafka:cdndata -o kafka:cdnresult
  #   load-influx  influxd on 127.0.0.1 with a temporary data directory, then
  #                cdn load-influx kafka:cdnresult and cdn load-influx kafka:cdnraw
  $Clock.Stop()

  # Each stage's summary line: "cdn sort: 100000 in, 100000 out, 0 rejected in 0.41 s".
  '{0,-8} {1,12} {2,12} {3,12}' -f 'stage', 'in', 'out', 'rejected'
  foreach ($s in $Stages) {
    $line = Get-Content (Join-Path $Work "$s.log") |
      Where-Object { $_ -match "cdn ${s}: (\d+) in, (\d+) out, (\d+) rejected" } |
      Select-Object -Last 1
    if (-not $line) { throw "cdn $s printed no summary line" }
    $null = "$line" -match "cdn ${s}: (\d+) in, (\d+) out, (\d+) rejected"
    '{0,-8} {1,12} {2,12} {3,12}' -f $s, $Matches[1], $Matches[2], $Matches[3]
  }
  $Records = 0
  foreach ($chunk in Get-Content $Out -ReadCount 10000) { $Records += @($chunk).Count }
  "output:  $Out ($Records records)"
  foreach ($s in $Stages) {
    $r = Join-Path $OutDir "rejects-$s.ndjson"
    if ((Test-Path $r) -and (Get-Item $r).Length -gt 0) { "rejects: $r" }
    elseif (Test-Path $r) { Remove-Item $r }
  }
  'elapsed: {0:N2} s' -f $Clock.Elapsed.TotalSeconds
} finally {
  if ($Broker) { Stop-Process -Id $Broker.Id -ErrorAction SilentlyContinue }
  Remove-Item -Recurse -Force $Work
}
