package dev.amber.cli;
public final class Main { public static void main(String[] a) { System.out.println(dev.amber.image.proto.Probe.newBuilder().setX(1).build()); } }
