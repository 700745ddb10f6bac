# Builds the Windows desktop bundle: dist\neuralforge\ (one folder, neuralforge.exe), and with -Installer a
# setup program dist\NeuralForge-VERSION-setup.exe made by Inno Setup 6 (iscc.exe on PATH or in its default
# folder) from installers\windows\neuralforge.iss. Run from a clone with Python 3.11 in a virtual environment
# that has the pinned stack and PyInstaller:
#   py -3.11 -m venv .venv
#   .venv\Scripts\python -m pip install -c constraints.txt -e ".[torch,ui,bundle]" -e plugins\neuralforge-example-layers
#   powershell -ExecutionPolicy Bypass -File installers\build-windows.ps1 [-Installer]
# Not built or run on the development machine (Linux): see installers\README.md.
param([switch]$Installer)
$ErrorActionPreference = "Stop"

$Root = Resolve-Path (Join-Path $PSScriptRoot "..")
Set-Location $Root
$Python = if ($env:NEURALFORGE_PYTHON) { $env:NEURALFORGE_PYTHON } else { Join-Path $Root ".venv\Scripts\python.exe" }
& $Python -c "import PyInstaller"
if ($LASTEXITCODE -ne 0) { throw "PyInstaller is missing: $Python -m pip install -c constraints.txt -e .[bundle]" }

$env:PYTHONPATH = "$Root;$Root\plugins\neuralforge-example-layers"
& $Python -m PyInstaller --noconfirm --log-level WARN --distpath "$Root\dist" --workpath "$Root\build\pyinstaller" `
    installers\neuralforge.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

$Exe = Join-Path $Root "dist\neuralforge\neuralforge.exe"
$Version = ((& $Exe --version) -split " ")[1]
Write-Host "built NeuralForge $Version in dist\neuralforge ($Exe)"

if ($Installer) {
    $Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
    if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
    if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 is not installed (https://jrsoftware.org/isinfo.php)" }
    & $Iscc "/DAppVersion=$Version" "/DRoot=$Root" installers\windows\neuralforge.iss
    if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
    Write-Host "installer: dist\NeuralForge-$Version-setup.exe"
}
