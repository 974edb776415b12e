package dev.amber.cli;
public final class Main { public static void main(String[] a) { System.out.println("amber"); } }
