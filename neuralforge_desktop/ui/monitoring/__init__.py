"""The Monitoring view (View ▸ Model Monitoring…): served models' latency, traffic, drift and alerts."""

from neuralforge_desktop.ui.monitoring.view import MonitoringView, open_monitoring_view

__all__ = ["MonitoringView", "open_monitoring_view"]
